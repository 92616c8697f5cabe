package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Reason says why a session was ended on purpose (Config.OnDestroyed).
type Reason string

// The reasons a session is destroyed.
const (
	ReasonLogout           Reason = "logout"            // Session.Destroy, CloseHandler
	ReasonAdmin            Reason = "admin"             // Manager.Destroy
	ReasonLogoutEverywhere Reason = "logout_everywhere" // Manager.DestroyUser
	ReasonEvicted          Reason = "evicted"           // Config.MaxUserSessions with EvictOldest
	ReasonCleared          Reason = "cleared"           // Manager.Clear
)

// Ended is a session ended on purpose, for Config.OnDestroyed.
type Ended struct {
	ID     string // secret: log it with care
	Handle string // the opaque handle listings show
	// User is "" when nobody logged in, or when it could not be told: the
	// store keeps no index and the request did not read the session, or
	// the store's answer was lost and the call retried (OnStoreError).
	User   string
	Reason Reason
}

// Expiry is a session that timed out, for Config.OnExpired.
type Expiry struct {
	ID         string // secret: log it with care
	Handle     string
	User       string
	Created    time.Time
	LastAccess time.Time
	// Values are the session's values, encoded by the Codec (read them
	// with Get). Nil when ValuesLost.
	Values map[string][]byte
	// ValuesLost: the session expired longer ago than the store keeps
	// expired sessions (no server ran meanwhile), so its values are gone.
	ValuesLost bool

	codec Codec
}

// Get decodes the value the expired session held under key into v, as
// Session.Get does.
func (e Expiry) Get(key string, v any) (ok bool, err error) {
	b, ok := e.Values[key]
	if !ok {
		return false, nil
	}
	if err := e.codec.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%w: %q: %w", ErrDecode, key, err)
	}
	return true, nil
}

// An Event is what every server of a farm hears about a session that ended
// (Manager.Subscribe): Kind is EventDestroyed or EventExpired.
type Event = store.Event

// The kinds of Event.
const (
	EventDestroyed = store.Destroyed
	EventExpired   = store.Expired
)

// Subscribe calls fn for every session that ends anywhere in the farm from
// now on, destroyed or expired: to close that session's websockets or
// server-sent event streams on whichever server holds them. Delivery is at
// most once to the servers subscribed at the time (pub/sub): a server that
// was down misses events, which is fine for connections it no longer
// holds; the durable record of an expiry is Config.OnExpired. fn runs on a
// goroutine of the Manager's, one event at a time, and must not block for
// long nor call Close (which waits for it); a panic in it goes to OnError.
// Call cancel to unsubscribe. It needs a store that carries events
// (store.Notifier): memstore, redisstore, sqlstore; the servers that end
// sessions publish them with Config.PublishEvents.
func (m *Manager) Subscribe(fn func(Event)) (cancel func(), err error) {
	n, ok := m.cfg.Store.(store.Notifier)
	if !ok {
		return nil, fmt.Errorf("session: Subscribe: the store carries no events (store.Notifier)")
	}
	return m.events.add(m, n, fn)
}

// events fans the store's one subscription out to the Manager's
// subscribers. The subscription starts with the first subscriber and ends
// with Close.
type events struct {
	mu      sync.Mutex // protects the fields below
	onError func(*http.Request, error)
	subs    map[int]func(Event)
	next    int
	cancel  context.CancelFunc // ends the store subscription; nil until the first subscriber
	done    <-chan struct{}    // closed when the store subscription has ended
	closed  bool
}

func (ev *events) add(m *Manager, n store.Notifier, fn func(Event)) (func(), error) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.closed {
		return nil, ErrClosed
	}
	if ev.cancel == nil {
		ev.onError = m.cfg.OnError
		ctx, cancel := context.WithCancel(context.Background())
		done, err := n.Subscribe(ctx, ev.deliver)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("session: Subscribe: %w", err)
		}
		ev.cancel, ev.done = cancel, done
	}
	if ev.subs == nil {
		ev.subs = make(map[int]func(Event))
	}
	id := ev.next
	ev.next++
	ev.subs[id] = fn
	return func() {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		delete(ev.subs, id)
	}, nil
}

// deliver hands one event to every subscriber. A subscriber that panics is
// reported to onError and the others still get the event.
func (ev *events) deliver(e Event) {
	ev.mu.Lock()
	fns := make([]func(Event), 0, len(ev.subs))
	for _, fn := range ev.subs {
		fns = append(fns, fn)
	}
	onError := ev.onError
	ev.mu.Unlock()
	for _, fn := range fns {
		if err := runHook(func() error { fn(e); return nil }, e.ID); err != nil {
			onError(nil, fmt.Errorf("session: a Subscribe callback: %w", err))
		}
	}
}

// close ends the store subscription and waits for its last delivery.
func (ev *events) close() {
	ev.mu.Lock()
	ev.closed = true
	cancel, done := ev.cancel, ev.done
	ev.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// ErrClosed is returned by the Manager's methods after Close.
var ErrClosed = errors.New("session: the Manager is closed")

// publish tells every server of the farm about a session that ended, with
// Config.PublishEvents. The session has ended whatever came before: the
// publish gets a StoreTimeout of its own, not what a hook (OnDestroyed) or
// the store calls before it left of the caller's deadline.
func (m *Manager) publish(ctx context.Context, e Event) {
	if m.notifier == nil {
		return
	}
	ctx, cancel := m.saveContext(ctx)
	defer cancel()
	if err := m.notifier.Publish(ctx, e); err != nil {
		m.cfg.OnError(nil, fmt.Errorf("session: publish the %s of a session: %w", e.Kind, redactID(err, e.ID)))
	}
}

// destroyed runs OnDestroyed for a session that was ended on purpose and
// tells the farm.
func (m *Manager) destroyed(ctx context.Context, id, user string, reason Reason) {
	if m.cfg.OnDestroyed != nil {
		e := Ended{ID: id, Handle: m.handles.of(id), User: user, Reason: reason}
		if err := runHook(func() error { return m.cfg.OnDestroyed(ctx, e) }, id); err != nil {
			m.cfg.OnError(nil, fmt.Errorf("session: OnDestroyed: %w", err))
		}
	}
	m.obs.sessionDestroyed(ctx, reason)
	m.publish(ctx, Event{Kind: EventDestroyed, ID: id, User: user, Reason: string(reason)})
}

// runHook calls a hook, turning a panic into an error: a hook never breaks
// the request or the reaper that runs it. The hook was given the session's
// ID, ids, which its error or panic may quote: they are redacted, since the
// error goes to OnError, whose default logs it.
func runHook(hook func() error, ids ...string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
		err = redactID(err, ids...)
	}()
	return hook()
}
