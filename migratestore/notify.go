package migratestore

import (
	"context"
	"errors"
	"sync"

	"github.com/seed58a3dad2/session/store"
)

// errNoNotifier is returned by Publish and Subscribe when neither store is a
// store.Notifier.
var errNoNotifier = errors.New("migratestore: neither store carries events (store.Notifier): the Manager's PublishEvents and Subscribe need one")

// Publish sends e through the store new sessions go to (the new one; the
// old one while the Store reads through, so that servers still on the old
// store alone hear it), or through the other when that one carries no
// events. Each event is published once, through one store.
func (s *Store) Publish(ctx context.Context, e store.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nt := s.home().nt
	if nt == nil {
		nt = s.other(s.home()).nt
	}
	if nt == nil {
		return errNoNotifier
	}
	return nt.Publish(ctx, e)
}

// other returns the side that is not sd.
func (s *Store) other(sd *side) *side {
	if sd == &s.old {
		return &s.new
	}
	return &s.old
}

// Subscribe subscribes fn to the events of both stores (of the one that
// carries events, if only one does), since each event goes through one of
// them: through the old store from servers that read through or use it
// alone, through the new one from servers that move sessions. fn is
// called one event at a time, whichever store the event came through;
// done is closed once both subscriptions have ended.
func (s *Store) Subscribe(ctx context.Context, fn func(store.Event)) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var nts []store.Notifier
	for _, sd := range []*side{&s.old, &s.new} {
		if sd.nt != nil {
			nts = append(nts, sd.nt)
		}
	}
	if len(nts) == 0 {
		return nil, errNoNotifier
	}
	var mu sync.Mutex // one call of fn at a time, from either subscription
	one := func(e store.Event) {
		mu.Lock()
		defer mu.Unlock()
		fn(e)
	}
	ctx, cancel := context.WithCancel(ctx)
	dones := make([]<-chan struct{}, 0, len(nts))
	for _, nt := range nts {
		done, err := nt.Subscribe(ctx, one)
		if err != nil {
			cancel() // ends the subscriptions made already
			for _, d := range dones {
				<-d
			}
			return nil, err
		}
		dones = append(dones, done)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		for _, d := range dones {
			<-d
		}
	}()
	return done, nil
}
