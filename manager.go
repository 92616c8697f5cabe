package session

import (
	"context"
	"fmt"

	"github.com/seed58a3dad2/session/store"
)

// A Manager is the session middleware, configured once. It is safe for
// concurrent use.
type Manager struct {
	cfg        Config
	tokens     tokenCodec
	cache      *tokenCache
	cookieName string
	// cookieAttrs follow the value in every Set-Cookie: "; Path=/; HttpOnly; ..."
	cookieAttrs string
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
