package session

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// reaper runs Manager.Reap every Config.ReapInterval, on a store that keeps
// expired sessions, from New until Close.
type reaper struct {
	stopOnce sync.Once
	stopc    chan struct{} // closed by stop
	done     chan struct{} // closed when the loop has returned; nil if it never ran
}

func (rp *reaper) start(m *Manager) {
	rp.stopc = make(chan struct{})
	if m.expirer == nil || m.cfg.ReapInterval < 0 {
		return
	}
	rp.done = make(chan struct{})
	go rp.run(m)
}

// run reaps at once, so that expiries that fell while no server ran fire
// now, then every interval until stop.
func (rp *reaper) run(m *Manager) {
	defer close(rp.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-rp.stopc:
			cancel() // a pass under way stops at its next store call
		case <-ctx.Done():
		}
	}()
	ticker := time.NewTicker(m.cfg.ReapInterval)
	defer ticker.Stop()
	for {
		// A pass that Close stopped failed with ErrClosed or a canceled
		// context, which the goroutine above may not have canceled yet.
		if _, err := m.Reap(ctx); err != nil && !rp.stopped() {
			m.cfg.OnError(nil, err)
		}
		select {
		case <-ticker.C:
		case <-rp.stopc:
			return
		}
	}
}

func (rp *reaper) stop() {
	rp.stopOnce.Do(func() { close(rp.stopc) })
	if rp.done != nil {
		<-rp.done
	}
}

func (rp *reaper) stopped() bool {
	select {
	case <-rp.stopc:
		return true
	default:
		return false
	}
}

// reapBatch is the most expired sessions one claim takes.
const reapBatch = 100

// Reap hands every expired session the store keeps to Config.OnExpired,
// tells the farm (Subscribe) and deletes it, and returns how many it
// handled. The reaper calls it every Config.ReapInterval; call it yourself
// with a negative ReapInterval. Servers of a farm may reap at once: each
// expired session goes to one of them (store.Expirer's claims). A session
// whose hook failed stays claimed for Config.ReapLease and then comes back.
//
// One claim's lease covers every hook of its batch, so the batch is sized
// from the slowest hook so far (one session at first, then as many as half
// a lease holds, up to 100), and a batch whose hooks run past half its
// lease stops there: the rest come back after the lease, to any server,
// rather than fire on two.
func (m *Manager) Reap(ctx context.Context) (int, error) {
	if m.expirer == nil {
		return 0, fmt.Errorf("session: Reap: the store keeps no expired sessions (store.Expirer)")
	}
	if m.reaper.stopped() {
		return 0, ErrClosed
	}
	lease := m.cfg.ReapLease
	total, batch := 0, 1
	var slowest time.Duration
	for {
		recs, err := m.claimExpired(ctx, batch, lease)
		if err != nil {
			return total, fmt.Errorf("session: reaper: claim expired sessions: %w", err)
		}
		claimed := m.cfg.Now()
		var handled []string
		for i, rec := range recs {
			start := m.cfg.Now()
			if i > 0 && start.Sub(claimed) > lease/2 {
				break // the rest come back when the lease runs out
			}
			if m.expire(ctx, rec) {
				handled = append(handled, rec.ID)
			}
			slowest = max(slowest, m.cfg.Now().Sub(start))
		}
		if len(handled) > 0 {
			if err := m.reapHandled(ctx, handled); err != nil {
				return total, fmt.Errorf("session: reaper: delete expired sessions: %w", redactID(err, handled...))
			}
			total += len(handled)
		}
		if len(recs) < batch || ctx.Err() != nil {
			return total, ctx.Err()
		}
		batch = int(min(lease/2/max(slowest, time.Millisecond), reapBatch))
		batch = max(batch, 1)
	}
}

// claimExpired and reapHandled call the store within Config.StoreTimeout,
// as a request does: a store that stopped answering holds a reaping pass no
// longer than that, and the sessions of the pass come back after the lease.
func (m *Manager) claimExpired(ctx context.Context, batch int, lease time.Duration) ([]store.Record, error) {
	ctx, cancel := m.boundContext(ctx)
	defer cancel()
	return m.expirer.ClaimExpired(ctx, batch, lease)
}

func (m *Manager) reapHandled(ctx context.Context, ids []string) error {
	ctx, cancel := m.boundContext(ctx)
	defer cancel()
	return m.expirer.Reap(ctx, ids...)
}

// expire runs OnExpired for one expired session and tells the farm. It
// reports whether the expiry was handled, so that the session can go.
func (m *Manager) expire(ctx context.Context, rec store.Record) bool {
	e := Expiry{
		ID:         rec.ID,
		Handle:     m.handles.of(rec.ID),
		User:       rec.User,
		Created:    rec.Created,
		LastAccess: rec.LastAccess,
		Values:     appValues(rec.Values),
		ValuesLost: rec.Values == nil,
		codec:      m.cfg.Codec,
	}
	if m.cfg.OnExpired != nil {
		if err := runHook(func() error { return m.cfg.OnExpired(ctx, e) }, rec.ID); err != nil {
			m.cfg.OnError(nil, fmt.Errorf("session: OnExpired failed; the expiry comes back after ReapLease: %w", err))
			return false
		}
	}
	m.obs.sessionExpired(ctx)
	m.publish(ctx, Event{Kind: EventExpired, ID: rec.ID, User: rec.User})
	return true
}

// appValues returns the application's values among a stored session's,
// without the middleware's metadata; nil for nil.
func appValues(values map[string][]byte) map[string][]byte {
	if values == nil {
		return nil
	}
	out := make(map[string][]byte, len(values))
	for k, v := range values {
		if !isMeta(k) {
			out[k] = v
		}
	}
	return out
}
