package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/seed58a3dad2/session/internal/testenv"
)

// sentinelSkipMessage is what tests report when no Sentinel can be started.
const sentinelSkipMessage = "no Redis Sentinel: install redis-server (started as redis-server --sentinel) to run Sentinel tests"

// sentinelMaster is the name under which the Sentinel of SentinelClient
// monitors its primary.
const sentinelMaster = "redistest"

// SentinelClient returns a client of a primary managed by Sentinel, closed in
// t.Cleanup. It honours context deadlines (ContextTimeoutEnabled), as
// redisstore.New requires.
//
// If redis-server is on PATH, SentinelClient starts a private primary and
// one Sentinel (redis-server --sentinel) that monitors it with a quorum of
// one, both on free loopback ports, without persistence, and killed in
// t.Cleanup. The client is redis.NewFailoverClient: it asks the Sentinel
// where the primary is, as it would in production. Otherwise the test is
// skipped. Both start within a fraction of a second, so every test gets its
// own.
func SentinelClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, sentinelSkipMessage)
	}
	primary := startServer(t, path).addr
	host, port, err := net.SplitHostPort(primary)
	if err != nil {
		t.Fatalf("redistest: primary address %q: %v", primary, err)
	}
	// Sentinel rewrites its configuration file, so it gets one of its own.
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	monitor := fmt.Sprintf("sentinel monitor %s %s %s 1\n", sentinelMaster, host, port)
	if err := os.WriteFile(conf, []byte(monitor), 0o600); err != nil {
		t.Fatalf("redistest: write %s: %v", conf, err)
	}
	sentinel, err := runOnFreePort(freePort, path, dir, conf, "--sentinel")
	if err != nil {
		t.Fatalf("redistest: start redis-server --sentinel: %v", err)
	}
	t.Cleanup(sentinel.stop)
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            sentinelMaster,
		SentinelAddrs:         []string{sentinel.addr},
		ContextTimeoutEnabled: true,
	})
	// Registered after the servers' cleanups, so it runs before them.
	t.Cleanup(func() { _ = c.Close() })
	return c
}
