package redistest

import (
	"net"
	"os/exec"
	"strconv"
	"testing"

	"github.com/seed58a3dad2/session/internal/testenv"
)

// RestartableServer starts a private redis-server for the test that keeps
// its data in an append-only file, written and fsynced before each write is
// acknowledged (appendonly yes, appendfsync always), in a directory of the
// test's own. kill ends it with SIGKILL, as a crash would, and waits for the
// process to exit; restart starts a new server on the same port and
// directory, which loads the file, and returns once it answers PING. A
// t.Cleanup kills the server that runs last.
//
// REDIS_ADDR is not used: a test must not kill a server others share.
// Without redis-server on PATH the test is skipped.
func RestartableServer(t testing.TB) (addr string, kill, restart func()) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, "no restartable Redis: install redis-server to run tests that kill and restart a private server")
	}
	dir := t.TempDir()
	durable := []string{"--appendonly", "yes", "--appendfsync", "always"}
	srv, err := runOnFreePort(freePort, path, dir, durable...)
	if err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	running := srv
	t.Cleanup(func() {
		if running != nil {
			running.stop()
		}
	})
	_, portText, _ := net.SplitHostPort(srv.addr) // an address runServer made: cannot fail
	port, _ := strconv.Atoi(portText)
	kill = func() {
		running.stop()
		running = nil
	}
	restart = func() {
		srv, err := runServer(path, dir, port, durable...)
		if err != nil {
			t.Fatalf("redistest: restart redis-server on port %d: %v", port, err)
		}
		running = srv
	}
	return srv.addr, kill, restart
}
