package session

import (
	"context"
	"fmt"

	"github.com/seed58a3dad2/session/store"
)

// A Manager is the session middleware, configured once, and the
// administration of the sessions of its application. It is safe for
// concurrent use. Close stops its reaper.
type Manager struct {
	cfg        Config
	tokens     tokenCodec
	cache      *tokenCache
	handles    handles
	cookieName string
	// cookieAttrs follow the value in every Set-Cookie: "; Path=/; HttpOnly; ..."
	cookieAttrs string
	// nonblocking stores are called without a timeout context.
	nonblocking bool

	// store is the Store the Manager calls: Config.Store, measured and
	// traced when obs is set (observestore.go).
	store store.Store
	obs   *observer // nil without Config.MeterProvider and TracerProvider

	// The store's optional capabilities, nil when it lacks one (or keeps
	// no index).
	lender   store.Lender
	indexer  store.Indexer
	expirer  store.Expirer
	limiter  store.Limiter
	notifier store.Notifier // set with Config.PublishEvents

	events events
	reaper reaper
}

// New checks cfg, fills in its defaults and returns a Manager. The error
// says which field to fix. On a store that keeps expired sessions
// (store.Expirer) it starts the reaper (Config.ReapInterval), which Close
// stops.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, tokens: newTokenCodec(cfg.Keys, cfg.MaxTokenLength), cache: newTokenCache(), handles: newHandles(cfg.Keys[0])}
	_, m.nonblocking = cfg.Store.(store.Nonblocking)
	if err := m.capabilities(); err != nil {
		return nil, err
	}
	m.cookieName = cfg.Cookie.Prefix + cfg.Cookie.Name
	if cfg.Cookie.HostPrefix {
		m.cookieName = "__Host-" + m.cookieName
	}
	if m.cookieAttrs, err = cookieAttributes(m.cookieName, cfg.Cookie); err != nil {
		return nil, err
	}
	now := cfg.Now()
	if _, err := m.tokens.encode(token{id: newID(), created: now, issued: now}); err != nil {
		return nil, fmt.Errorf("session: Config.MaxTokenLength %d is too short for a token (%w): leave it 0 for the default", cfg.MaxTokenLength, err)
	}
	// Last of the checks: it registers session.live's callback, which only
	// Close unregisters.
	if err := m.observe(); err != nil {
		return nil, err
	}
	m.reaper.start(m)
	return m, nil
}

// capabilities finds the store's optional capabilities and checks that
// every feature cfg switches on has the one it needs.
func (m *Manager) capabilities() error {
	m.lender, _ = m.cfg.Store.(store.Lender)
	if ix, ok := m.cfg.Store.(store.Indexer); ok && ix.Indexed() {
		m.indexer = ix
		m.expirer, _ = m.cfg.Store.(store.Expirer)
		m.limiter, _ = m.cfg.Store.(store.Limiter)
	}
	if m.cfg.PublishEvents {
		n, ok := m.cfg.Store.(store.Notifier)
		if !ok {
			return fmt.Errorf("session: Config.PublishEvents needs a store that carries events (store.Notifier): use memstore, redisstore or sqlstore")
		}
		m.notifier = n
	}
	const hint = "use memstore, redisstore with Config.Index, or sqlstore"
	switch {
	case m.cfg.OnExpired != nil && m.expirer == nil:
		return fmt.Errorf("session: Config.OnExpired needs a store that keeps expired sessions (store.Expirer): %s", hint)
	case m.cfg.MaxSessions > 0 && m.limiter == nil:
		return fmt.Errorf("session: Config.MaxSessions needs a store that counts sessions (store.Limiter): %s", hint)
	case m.cfg.MaxUserSessions > 0 && m.indexer == nil:
		return fmt.Errorf("session: Config.MaxUserSessions needs a store that indexes sessions by user (store.Indexer): %s", hint)
	}
	return nil
}

// Close stops the reaper, the farm subscription (Subscribe) and the
// session.live gauge, waiting for a reaper pass or event delivery under
// way: a hook or a Subscribe callback must not call it. The middleware keeps
// working; the admin methods and Reap return ErrClosed. Close does not
// close the store.
func (m *Manager) Close() error {
	m.reaper.stop()
	m.events.close()
	m.obs.close()
	return nil
}

// CookieName returns the full name of the session cookie, prefixes
// included: what a client, a proxy rule or a test must look for. It is
// derived from three settings (Prefix, Name, HostPrefix), so it is given
// here rather than rebuilt by hand.
func (m *Manager) CookieName() string { return m.cookieName }

// loadContext bounds a load by the request's context and
// Config.StoreTimeout: nothing has happened yet, so a client that went away
// may cancel it.
func (m *Manager) loadContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return m.boundContext(ctx)
}

// saveContext bounds a save by Config.StoreTimeout only: the handler has
// acted, so its changes are saved even if the client went away.
func (m *Manager) saveContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return m.boundContext(context.WithoutCancel(ctx))
}

// boundContext adds Config.StoreTimeout to ctx, except for stores that never
// block, for which the timer would cost more than the call.
func (m *Manager) boundContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.nonblocking {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, m.cfg.StoreTimeout)
}

func noCancel() {}
