package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	path := sentinelBinary(t)
	primary := startServer(t, path).addr
	return failoverClient(t, startSentinel(t, path, primary))
}

// ReplicatedSentinel is SentinelClient with a replica that a test can fail
// over to. It starts a primary, a replica of it, and a Sentinel that
// monitors them, and returns once the replica has synchronised and the
// Sentinel knows it. failover asks the Sentinel to fail over at once
// (SENTINEL FAILOVER: the replica becomes the primary, the primary its
// replica) and returns without waiting; switched returns once the Sentinel
// has ended the failover, naming the former replica as the primary and
// telling its clients (+switch-master), and fails the test if that takes
// more than 30 seconds. The Sentinel turns the former primary into a
// replica only some ten seconds later (it waits for its new configuration
// to spread first): until then a client that missed the switch still
// writes there, and those writes are lost.
//
// Replication is asynchronous: a write acknowledged just before a failover
// may be lost. A test that needs its writes to survive waits for the
// replica first (WAIT 1 <ms>, on the client).
func ReplicatedSentinel(t testing.TB) (c redis.UniversalClient, failover, switched func()) {
	t.Helper()
	path := sentinelBinary(t)
	// A replica's first synchronisation waits repl-diskless-sync-delay
	// (5 s by default) for more replicas to share it: these have none.
	noDelay := []string{"--repl-diskless-sync-delay", "0"}
	primary := startServer(t, path, noDelay...).addr
	host, port, _ := net.SplitHostPort(primary) // an address runServer made: cannot fail
	replica := startServer(t, path, append(noDelay, "--replicaof", host, port)...).addr
	sentinel := startSentinel(t, path, primary)
	s := redis.NewSentinelClient(&redis.Options{Addr: sentinel})
	t.Cleanup(func() { _ = s.Close() })
	r := redis.NewClient(&redis.Options{Addr: replica})
	t.Cleanup(func() { _ = r.Close() })
	within(t, 30*time.Second, "the Sentinel lists the synchronised replica "+replica, func(ctx context.Context) bool {
		info, err := r.Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			return false
		}
		replicas, err := s.Replicas(ctx, sentinelMaster).Result()
		if err != nil {
			return false
		}
		for _, r := range replicas {
			if net.JoinHostPort(r["ip"], r["port"]) == replica && r["flags"] == "slave" && r["master-link-status"] == "ok" {
				return true
			}
		}
		return false
	})
	failover = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Failover(ctx, sentinelMaster).Err(); err != nil {
			t.Errorf("redistest: SENTINEL FAILOVER: %v", err)
		}
	}
	switched = func() {
		within(t, 30*time.Second, "the Sentinel ends its failover to "+replica, func(ctx context.Context) bool {
			addr, err := s.GetMasterAddrByName(ctx, sentinelMaster).Result()
			if err != nil || len(addr) != 2 || net.JoinHostPort(addr[0], addr[1]) != replica {
				return false
			}
			m, err := s.Master(ctx, sentinelMaster).Result()
			return err == nil && !strings.Contains(m["flags"], "failover")
		})
	}
	return failoverClient(t, sentinel), failover, switched
}

// sentinelBinary returns the path of redis-server, or skips the test.
func sentinelBinary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, sentinelSkipMessage)
	}
	return path
}

// startSentinel starts a Sentinel that monitors primary with a quorum of
// one, killed in t.Cleanup, and returns its address.
func startSentinel(t testing.TB, path, primary string) string {
	t.Helper()
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
	return sentinel.addr
}

// failoverClient returns a client of the primary the Sentinel at sentinel
// names, closed in t.Cleanup.
func failoverClient(t testing.TB, sentinel string) redis.UniversalClient {
	t.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            sentinelMaster,
		SentinelAddrs:         []string{sentinel},
		ContextTimeoutEnabled: true,
	})
	// Registered after the servers' cleanups, so it runs before them.
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// within polls cond every 10 ms until it holds, and fails the test if d
// passes first; what names the condition in the failure.
func within(t testing.TB, d time.Duration, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok := cond(ctx)
		cancel()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: waited %v for %s", d, what)
		}
		<-tick.C
	}
}
