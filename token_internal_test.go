package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/memstore"
)

func TestTokenCacheStaysBounded(t *testing.T) {
	c := newTokenCache()
	for i := range tokenCacheShards * tokenCacheShardCap * 3 {
		c.put(fmt.Sprint("token-", i), &verifiedToken{})
	}
	for i := range c.shards {
		if n := len(c.shards[i].m); n > tokenCacheShardCap {
			t.Fatalf("shard %d holds %d tokens, want at most %d", i, n, tokenCacheShardCap)
		}
	}
}

func TestOnlyVerifiedTokensAreCached(t *testing.T) {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	m, err := New(Config{Store: st, Keys: []Key{{Hash: []byte("0123456789abcdef0123456789abcdef")}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good, err := m.tokens.encode(token{id: newID(), created: now, issued: now})
	if err != nil {
		t.Fatal(err)
	}
	bad := good[:len(good)-2] + "AA"
	if m.verify(bad) != nil || m.cache.get(bad) != nil {
		t.Fatal("a tampered token verified or was cached")
	}
	first := m.verify(good)
	if first == nil || m.cache.get(good) != first || m.verify(good) != first {
		t.Fatal("a good token was not verified once and then served from the cache")
	}
	if !first.issued.Equal(now.Truncate(time.Millisecond)) || len(first.id) != 22 {
		t.Fatalf("got %+v", first.token)
	}
}
