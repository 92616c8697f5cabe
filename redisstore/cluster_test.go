package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/store"
	"github.com/seed58a3dad2/session/store/storetest"
)

// conformance runs the store conformance suite on c, each case with a key
// prefix of its own.
func conformance(t *testing.T, c redis.UniversalClient) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		if _, ok := c.(*redis.ClusterClient); ok {
			skipMoveCases(t)
		}
		prefix := redistest.Prefix(t)
		return storetest.Harness{
			Store:   New(c, Config{Prefix: prefix}),
			Advance: func(d time.Duration) { redistest.Advance(t, c, prefix, d) },
		}
	})
}

// skipMoveCases skips the Move cases of the conformance suite. Move runs one
// script on the keys of both IDs, which a Cluster refuses (CROSSSLOT) while
// the hash tag of a key is the whole ID. Remove it, and its call in
// conformance, once keys are sharded by the first character of the ID,
// which a renewed ID shares with the old one.
func skipMoveCases(t *testing.T) {
	if strings.Contains(t.Name(), "/Move/") {
		t.Skip("Move needs both IDs' keys in one Cluster slot: CROSSSLOT until keys are sharded by the first character of the ID")
	}
}

// TestCluster runs on one Redis Cluster, which its subtests share: a private
// Cluster takes seconds to start (see redistest.ClusterClient).
func TestCluster(t *testing.T) {
	c := redistest.ClusterClient(t)
	ctx := t.Context()

	t.Run("the conformance suite passes", func(t *testing.T) {
		conformance(t, c)
	})
	t.Run("each method costs what it costs on a single server", func(t *testing.T) {
		testRoundTrips(t, redistest.ClusterClient(t), redistest.Prefix(t))
	})

	t.Run("a session's key is in the slot of its ID, under every Prefix and Application", func(t *testing.T) {
		prefix := redistest.Prefix(t)
		id := newID()
		for _, cfg := range []Config{
			{Prefix: prefix},
			{Prefix: prefix, Application: "shop"},
			{Prefix: prefix + ":other", Application: "a:b"},
		} {
			s := New(c, cfg)
			if err := s.Create(ctx, id, map[string][]byte{"a": []byte("1")}, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
			if _, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"b": nil}}, time.Hour, 5); err != nil {
				t.Fatalf("Update: got error %v, want nil", err)
			}
			key := s.key(id)
			keySlot, err := c.ClusterKeySlot(ctx, key).Result()
			if err != nil {
				t.Fatalf("CLUSTER KEYSLOT %s: got error %v, want nil", key, err)
			}
			idSlot, err := c.ClusterKeySlot(ctx, id).Result()
			if err != nil {
				t.Fatalf("CLUSTER KEYSLOT %s: got error %v, want nil", id, err)
			}
			if keySlot != idSlot {
				t.Errorf("CLUSTER KEYSLOT %s: got %v, want %v, the slot of the ID", key, keySlot, idSlot)
			}
			// The key is where the Cluster says its slot is served, so
			// every command on it went there.
			master, err := c.MasterForKey(ctx, id)
			if err != nil {
				t.Fatalf("MasterForKey(%q): got error %v, want nil", id, err)
			}
			if n, err := master.HLen(ctx, key).Result(); err != nil || n != 3 {
				t.Errorf("HLEN %s on %s: got %v, %v, want 3, nil", key, master.Options().Addr, n, err)
			}
		}
	})

	t.Run("sessions spread over every master", func(t *testing.T) {
		prefix := redistest.Prefix(t)
		s := New(c, Config{Prefix: prefix})
		const sessions = 300
		for range sessions {
			if err := s.Create(ctx, newID(), nil, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
		}
		var (
			mu     sync.Mutex // protects counts
			counts = map[string]int{}
		)
		err := c.ForEachMaster(ctx, func(ctx context.Context, master *redis.Client) error {
			n := 0
			iter := master.Scan(ctx, 0, prefix+":*", 1000).Iterator()
			for iter.Next(ctx) {
				n++
			}
			mu.Lock()
			counts[master.Options().Addr] = n
			mu.Unlock()
			return iter.Err()
		})
		if err != nil {
			t.Fatalf("SCAN every master: got error %v, want nil", err)
		}
		total := 0
		for addr, n := range counts {
			total += n
			// Random IDs spread evenly over the slots. Less than a fifth
			// of an even share would be a skewed hash tag, not bad luck.
			if n < sessions/len(counts)/5 {
				t.Errorf("sessions on master %s: got %d of %d, want about %d", addr, n, sessions, sessions/len(counts))
			}
		}
		if total != sessions {
			t.Errorf("sessions found on the masters: got %d, want %d", total, sessions)
		}
	})
}

// TestSentinel runs on a primary managed by Sentinel, reached the way
// production reaches it: through the Sentinel (see redistest.SentinelClient).
func TestSentinel(t *testing.T) {
	c := redistest.SentinelClient(t)
	t.Run("the conformance suite passes", func(t *testing.T) {
		conformance(t, c)
	})
	t.Run("each method costs what it costs on a single server", func(t *testing.T) {
		testRoundTrips(t, c, redistest.Prefix(t))
	})
}

// newID returns a random session ID shaped like the real ones: 16 random
// bytes, base64url.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b[:])
}
