package session_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/internal/sessiontest"
	"github.com/seed58a3dad2/session/redisstore"
)

// faultStoreTimeout is the StoreTimeout of the managers the fault tests
// run: short, so that a fault costs the test little time, and far above
// what a command takes on an idle loopback Redis.
const faultStoreTimeout = 300 * time.Millisecond

// faultBound is the longest a request may take while the store is down:
// one StoreTimeout (a request makes one store call before it fails) plus
// 1.7 s of margin for a machine busy with other tests, which still tells a
// bounded answer from go-redis's own timeouts (3 s and more) or a hang.
const faultBound = faultStoreTimeout + 1700*time.Millisecond

// faultManager returns a manager on a redisstore over c, as an
// application would build it, with faultStoreTimeout.
func faultManager(t *testing.T, c redis.UniversalClient) *session.Manager {
	t.Helper()
	m, err := session.New(session.Config{
		Store:        redisstore.New(c, redisstore.Config{Prefix: redistest.Prefix(t)}),
		Keys:         []session.Key{testKey},
		StoreTimeout: faultStoreTimeout,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestRedisPausedOutage: a Redis stopped with SIGSTOP accepts connections
// and commands but answers nothing (a slow command, a fork, swapping).
// Requests answer 503 within StoreTimeout, nothing piles up, and after
// SIGCONT every session works again.
func TestRedisPausedOutage(t *testing.T) {
	addr, pause, resume := redistest.PausableServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	sessiontest.Outage(t, faultManager(t, c), sessiontest.Fault{
		Begin: func(*testing.T) { pause() },
		End:   func(*testing.T) { resume() },
		Bound: faultBound,
	})
}

// TestRedisKilledAndRestarted: a Redis killed with SIGKILL and restarted
// on its append-only file (appendfsync always). While it is down requests
// answer 503 at once (the port refuses connections); once it is back the
// client reconnects by itself and every session is there, under its ID,
// with every acknowledged write.
func TestRedisKilledAndRestarted(t *testing.T) {
	addr, kill, restart := redistest.RestartableServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	var restartTook time.Duration
	f := sessiontest.Outage(t, faultManager(t, c), sessiontest.Fault{
		Begin: func(*testing.T) { kill() },
		End: func(*testing.T) {
			start := time.Now()
			restart()
			restartTook = time.Since(start)
		},
		Bound: faultBound,
	})
	t.Logf("of the recovery, the server took %v to answer PING; the sessions answered %v later",
		restartTook.Round(time.Millisecond), (f.Recovery - restartTook).Round(time.Millisecond))
}
