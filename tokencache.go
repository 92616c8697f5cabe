package session

import (
	"hash/maphash"
	"strings"
	"sync"
)

// tokenCache remembers tokens that verified, so that a token a client sends
// with request after request has its HMAC checked once, not every time: the
// check costs more than the rest of a request on memstore. Only verified
// tokens enter; a shard that fills up is emptied, so memory stays bounded
// (about 4 MB) whoever sends what.
type tokenCache struct {
	seed   maphash.Seed
	shards [tokenCacheShards]tokenShard
}

const (
	tokenCacheShards   = 16
	tokenCacheShardCap = 1024
)

type tokenShard struct {
	mu sync.RWMutex // protects m
	m  map[string]*verifiedToken
}

// verifiedToken is a token that verified, with what every request bearing
// it will need again.
type verifiedToken struct {
	token
	// expires is the Session-Expires header value while the session has not
	// been touched since the token was issued: shared by every response
	// that carries it, never modified.
	expires []string
}

func newTokenCache() *tokenCache {
	return &tokenCache{seed: maphash.MakeSeed()}
}

func (c *tokenCache) shard(raw string) *tokenShard {
	return &c.shards[maphash.String(c.seed, raw)%tokenCacheShards]
}

func (c *tokenCache) get(raw string) *verifiedToken {
	sh := c.shard(raw)
	sh.mu.RLock()
	vt := sh.m[raw]
	sh.mu.RUnlock()
	return vt
}

func (c *tokenCache) put(raw string, vt *verifiedToken) {
	sh := c.shard(raw)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil || len(sh.m) >= tokenCacheShardCap {
		sh.m = make(map[string]*verifiedToken, tokenCacheShardCap)
	}
	// raw may be a slice of a whole Cookie header: keep only the token.
	sh.m[strings.Clone(raw)] = vt
}

// verify returns what a raw token says, or nil if it is not a token signed
// by one of the keys.
func (m *Manager) verify(raw string) *verifiedToken {
	if len(raw) > m.cfg.MaxTokenLength {
		return nil
	}
	if vt := m.cache.get(raw); vt != nil {
		return vt
	}
	t, ok := m.tokens.decode(raw)
	if !ok {
		return nil
	}
	vt := &verifiedToken{token: t, expires: []string{formatExpires(m.expiry(t.created, t.issued))}}
	m.cache.put(raw, vt)
	return vt
}
