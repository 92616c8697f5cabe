package session

import (
	"context"
	"time"
)

// A Manager is the session middleware, configured once. It is safe for
// concurrent use.
type Manager struct {
	cfg        Config
	tokens     tokenCodec
	cookieName string
}

// New checks cfg, fills in its defaults and returns a Manager. The error
// says which field to fix.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, tokens: newTokenCodec(cfg.Keys, cfg.MaxTokenLength)}
	m.cookieName = cfg.Cookie.Prefix + cfg.Cookie.Name
	if cfg.Cookie.HostPrefix {
		m.cookieName = "__Host-" + m.cookieName
	}
	return m, nil
}

// CookieName returns the full name of the session cookie, prefixes included.
func (m *Manager) CookieName() string { return m.cookieName }

// expiry returns when a session created at created and touched at now
// expires: IdleTimeout from now, but never past Config.Lifetime.
func (m *Manager) expiry(created, now time.Time) time.Time {
	e := now.Add(m.cfg.IdleTimeout)
	if m.cfg.Lifetime > 0 {
		if end := created.Add(m.cfg.Lifetime); end.Before(e) {
			return end
		}
	}
	return e
}

// storeContext bounds one store call by the request and Config.StoreTimeout.
func (m *Manager) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, m.cfg.StoreTimeout)
}

// saveContext bounds a save by Config.StoreTimeout only: once the handler has
// acted, its changes are saved even if the client has gone away.
func (m *Manager) saveContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), m.cfg.StoreTimeout)
}
