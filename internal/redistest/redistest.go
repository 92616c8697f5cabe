package redistest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seed58a3dad2/session/internal/testenv"
)

// skipMessage is what tests report when no real Redis is available.
const skipMessage = "no Redis: set REDIS_ADDR or install redis-server to run real-Redis tests"

// Client returns a client connected to a real Redis server, closed in
// t.Cleanup.
//
// If REDIS_ADDR is set (host:port, or a redis:// URL) the client connects
// there and the test fails if the server does not answer PING. Otherwise, if
// redis-server is on PATH, a private server is started for this test on a
// free loopback port, without persistence, and killed in t.Cleanup. Otherwise
// the test is skipped. Client never uses the default 127.0.0.1:6379 unless
// REDIS_ADDR names it.
//
// The client honours context deadlines (ContextTimeoutEnabled), as
// redisstore.New requires. Tests sharing a server must keep to their own
// keys: see Prefix.
func Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		opt, err := options(addr)
		if err != nil {
			t.Fatalf("REDIS_ADDR=%q: %v", addr, err)
		}
		opt.ContextTimeoutEnabled = true
		c := redis.NewClient(opt)
		t.Cleanup(func() { _ = c.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("REDIS_ADDR=%q does not answer PING: %v", addr, err)
		}
		return c
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, skipMessage)
	}
	addr := startServer(t, path).addr
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	// Registered after the server's cleanup, so it runs before the server
	// is killed (cleanups run last-in, first-out).
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// options parses REDIS_ADDR, which is either host:port or a redis:// URL.
func options(addr string) (*redis.Options, error) {
	if strings.Contains(addr, "://") {
		return redis.ParseURL(addr)
	}
	return &redis.Options{Addr: addr}, nil
}

// PausableServer starts a private redis-server for the test, as Client does
// when REDIS_ADDR is unset, and returns its address with functions that pause
// and resume it. pause stops the process (SIGSTOP): it keeps its listening
// socket and its connections, so clients still connect and send, but nothing
// answers, as with a server stalled by a slow command, a fork or swapping.
// resume continues it (SIGCONT). A t.Cleanup resumes the server, then kills
// it. Commands sent while it is paused are run when it resumes, even those
// whose callers have given up.
//
// REDIS_ADDR is not used: a test must not pause a server others share.
// Without redis-server on PATH, or on a system without SIGSTOP, the test is
// skipped.
func PausableServer(t testing.TB) (addr string, pause, resume func()) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil || stopSignal == nil {
		testenv.Missing(t, "no pausable Redis: install redis-server (on a Unix system, for SIGSTOP) to run tests that pause a private server")
	}
	srv := startServer(t, path)
	signal := func(sig os.Signal) {
		if err := srv.process.Signal(sig); err != nil {
			t.Errorf("redistest: send %v to redis-server at %s: %v", sig, srv.addr, err)
		}
	}
	resume = func() { signal(continueSignal) }
	// Registered after the server's cleanup, so it runs before the kill.
	t.Cleanup(resume)
	return srv.addr, func() { signal(stopSignal) }, resume
}

// startServer runs a private redis-server for the test, with the options
// args (see runServer), killed in t.Cleanup.
func startServer(t testing.TB, path string, args ...string) *server {
	t.Helper()
	dir := t.TempDir() // redis-server's working directory
	srv, err := runOnFreePort(freePort, path, dir, args...)
	if err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	t.Cleanup(srv.stop)
	return srv
}

// runOnFreePort runs redis-server with args (see runServer) on a port that
// free found free. That port is released before redis-server binds it, so
// another process may take it in between: runOnFreePort then tries again.
func runOnFreePort(free func() (int, error), path, dir string, args ...string) (srv *server, err error) {
	const attempts = 3
	for range attempts {
		var port int
		if port, err = free(); err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		if srv, err = runServer(path, dir, port, args...); err == nil {
			return srv, nil
		}
	}
	return nil, fmt.Errorf("%d attempts: %w", attempts, err)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// server is a redis-server that runServer started.
type server struct {
	addr    string
	process *os.Process
	exited  <-chan struct{} // closed once the process has exited
}

// stop kills the server and waits for the process to exit.
func (s *server) stop() {
	_ = s.process.Kill()
	<-s.exited
}

// runServer starts redis-server on port and waits until it answers PING.
// Its command line holds what every private server gets (the port, the
// loopback interface, no persistence, and dir as working directory), then
// args, whose options override those. A configuration file, which must come
// first on the command line, may be the first of args.
func runServer(path, dir string, port int, args ...string) (*server, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var conf []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		conf, args = args[:1], args[1:]
	}
	cmd := exec.Command(path, slices.Concat(conf, []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
	}, args)...)
	var out bytes.Buffer // read only after the process has exited
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	srv := &server{addr: addr, process: cmd.Process, exited: exited}
	if err := waitReady(addr, exited); err != nil {
		srv.stop()
		return nil, fmt.Errorf("%w\n%s", err, out.String())
	}
	return srv, nil
}

// waitReady polls addr with PING until it answers, the process exits, or ten
// seconds pass.
func waitReady(addr string, exited <-chan struct{}) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("redis-server exited before answering PING")
		case <-deadline.C:
			return fmt.Errorf("redis-server at %s does not answer PING: %w", addr, err)
		case <-poll.C:
		}
	}
}

// Prefix returns a key prefix no other test uses ("test-" and 16 random hex
// digits), for stores and keys of this test on a shared server.
//
// When REDIS_ADDR or REDIS_CLUSTER_ADDRS is set, a t.Cleanup deletes every
// key starting with the prefix from those servers, since their keys outlive
// the test. Private servers started by Client, ClusterClient and
// SentinelClient, and miniredis, go away with the tests that use them and
// need no cleanup.
func Prefix(t testing.TB) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails: see crypto/rand.Read
	prefix := "test-" + hex.EncodeToString(b[:])
	var external []func() redis.UniversalClient
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		opt, err := options(addr)
		if err != nil {
			t.Fatalf("REDIS_ADDR=%q: %v", addr, err)
		}
		external = append(external, func() redis.UniversalClient { return redis.NewClient(opt) })
	}
	if addrs := os.Getenv("REDIS_CLUSTER_ADDRS"); addrs != "" {
		external = append(external, func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddrs(addrs)})
		})
	}
	for _, open := range external {
		t.Cleanup(func() {
			c := open()
			defer c.Close()
			// t.Context is already canceled when cleanups run.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := deleteKeys(ctx, c, prefix); err != nil {
				t.Errorf("redistest: delete keys under %q: %v", prefix, err)
			}
		})
	}
	return prefix
}

// deleteKeys deletes every key starting with prefix, with one DEL per key:
// a Cluster refuses a DEL of keys in different slots. The DELs go in one
// pipeline, which a Cluster client splits by node.
func deleteKeys(ctx context.Context, c redis.UniversalClient, prefix string) error {
	keys, err := scanKeys(ctx, c, prefix)
	if err != nil || len(keys) == 0 {
		return err
	}
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, key := range keys {
			p.Del(ctx, key)
		}
		return nil
	})
	return err
}

// Advance moves time forward by d for every key starting with prefix, the way
// the passing of d would: each key's time to live is reduced by d, and a key
// whose time to live reaches zero or less is deleted. Keys without a time to
// live are left alone. Use it with a prefix from Prefix, so that only this
// test's keys age.
//
// It reads each key's PTTL and sets the reduced value with PEXPIRE, one key
// at a time: the real clock keeps running meanwhile, so tests should leave a
// margin of a second or more around the expiries they probe.
func Advance(t testing.TB, c redis.UniversalClient, prefix string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := scanKeys(ctx, c, prefix)
	if err != nil {
		t.Fatalf("redistest: advance: %v", err)
	}
	for _, key := range keys {
		if err := age(ctx, c, key, d); err != nil {
			t.Fatalf("redistest: advance %q by %v: %v", key, d, err)
		}
	}
}

// age reduces the time to live of key by d.
func age(ctx context.Context, c redis.UniversalClient, key string, d time.Duration) error {
	pttl, err := c.PTTL(ctx, key).Result()
	if err != nil {
		return err
	}
	if pttl < 0 { // -1: no time to live; -2: gone already
		return nil
	}
	left := pttl - d
	if left < time.Millisecond {
		return c.Del(ctx, key).Err()
	}
	return c.PExpire(ctx, key, left.Truncate(time.Millisecond)).Err()
}

// scanKeys lists the keys starting with prefix with SCAN, on every master of
// a Cluster or on the one server of any other client.
func scanKeys(ctx context.Context, c redis.UniversalClient, prefix string) ([]string, error) {
	match := escapeGlob(prefix) + "*"
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return scanNode(ctx, c, match)
	}
	var (
		mu   sync.Mutex // protects keys: ForEachMaster visits nodes concurrently
		keys []string
	)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		found, err := scanNode(ctx, node, match)
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return err
	})
	return keys, err
}

// scanNode lists the keys of one server that match the glob pattern match.
func scanNode(ctx context.Context, c redis.Cmdable, match string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, match, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// escapeGlob quotes the characters that SCAN MATCH treats as pattern syntax.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
