package sqltest

import (
	"database/sql"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/seed58a3dad2/session/internal/testenv"
)

// StoppablePostgres starts a private PostgreSQL server for this test alone
// and returns a pool of connections to it (closed in t.Cleanup), with
// functions that stop it and start it again.
//
// stop shuts it down at once, as pg_ctl stop -m immediate does (SIGQUIT to
// the postmaster: no checkpoint, connections cut, crash recovery at the
// next start), and waits for it to exit; start runs it again on the same
// port and data directory and returns once it accepts connections. Unlike
// the server Postgres shares, it commits synchronously
// (synchronous_commit=on), so that a commit it acknowledged survives the
// stop. A t.Cleanup stops it and removes its directory.
//
// PG_DSN is not used: a test must not stop a server others share. Without
// the PostgreSQL server binaries the test is skipped. It takes a second or more to start (initdb).
func StoppablePostgres(t testing.TB) (db *sql.DB, stop, start func()) {
	t.Helper()
	bin, err := findBinaries()
	if err != nil {
		testenv.Missing(t, skipMessage)
	}
	const durable = "synchronous_commit=on"
	srv, err := startServer(bin, durable)
	if err != nil {
		t.Fatalf("sqltest: start a private PostgreSQL: %v", err)
	}
	running := srv
	t.Cleanup(func() {
		if running != nil {
			_ = running.stop()
		} else {
			_ = os.RemoveAll(srv.dir)
		}
	})
	db = stdlib.OpenDB(*srv.config())
	t.Cleanup(func() { _ = db.Close() })
	stop = func() {
		if err := running.process.Signal(syscall.SIGQUIT); err != nil {
			t.Fatalf("sqltest: stop PostgreSQL: %v", err)
		}
		<-running.exited
		running = nil
	}
	start = func() {
		cred, err := credential()
		if err != nil {
			t.Fatalf("sqltest: %v", err)
		}
		s, err := runServer(bin, srv.dir, srv.port, cred, durable)
		if err != nil {
			t.Fatalf("sqltest: start PostgreSQL again on port %d: %v", srv.port, err)
		}
		running = s
	}
	return db, stop, start
}
