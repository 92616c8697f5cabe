package session

import (
	"context"
	"fmt"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// A Manager is the session middleware, configured once. It is safe for
// concurrent use.
type Manager struct {
	cfg        Config
	tokens     tokenCodec
	cookieName string
	// cookieAttrs follow the value in every Set-Cookie: "; Path=/; HttpOnly; ..."
	cookieAttrs string
	cache       *tokenCache
	// nonblocking stores are called without a timeout context.
	nonblocking bool
}

// New checks cfg, fills in its defaults and returns a Manager. The error
// says which field to fix.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, tokens: newTokenCodec(cfg.Keys, cfg.MaxTokenLength), cache: newTokenCache()}
	_, m.nonblocking = cfg.Store.(store.Nonblocking)
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

// storeContext bounds one store call by ctx and Config.StoreTimeout. With
// detach, the call is not canceled with the request: once the handler has
// acted, its changes are saved even if the client has gone away.
func (m *Manager) storeContext(ctx context.Context, detach bool) (context.Context, context.CancelFunc) {
	if detach {
		ctx = context.WithoutCancel(ctx)
	}
	if m.nonblocking {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, m.cfg.StoreTimeout)
}

func noCancel() {}
