package sqlstore_test

import (
	"bytes"
	"database/sql"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/sessiontest"
	"github.com/seed58a3dad2/session/internal/sqltest"
	"github.com/seed58a3dad2/session/sqlstore"
)

// faultStoreTimeout is the StoreTimeout of the managers the fault tests
// run: short, so that a fault costs the test little time, and far above
// what a statement takes on an idle loopback PostgreSQL.
const faultStoreTimeout = 300 * time.Millisecond

// faultBound is the longest a request may take while the store is down:
// one StoreTimeout (a request makes one store call before it fails) plus
// 4.7 s of margin, for CI: the race detector on two cores shared with
// other tests has stalled a request by 2.5 s. A request that hung would
// take the client's minute.
const faultBound = faultStoreTimeout + 4700*time.Millisecond

// faultManager returns a manager on a sqlstore over db, with
// faultStoreTimeout.
func faultManager(t *testing.T, db *sql.DB, dialect sqlstore.Dialect) *session.Manager {
	t.Helper()
	m, err := session.New(session.Config{
		Store:        newStore(t, db, dialect, sqlstore.Config{}),
		Keys:         []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}},
		StoreTimeout: faultStoreTimeout,
	})
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestPostgresDown: PostgreSQL shut down at once (pg_ctl stop -m
// immediate: connections cut, no checkpoint) and started again, with crash
// recovery. While it is down requests answer 503 within StoreTimeout and
// nothing piles up; once it is back the pool reconnects by itself and
// every session is there, under its ID, with every acknowledged write.
func TestPostgresDown(t *testing.T) {
	db, stop, start := sqltest.StoppablePostgres(t)
	var startTook time.Duration
	f := sessiontest.Outage(t, faultManager(t, db, sqlstore.Postgres), sessiontest.Fault{
		Begin: func(*testing.T) { stop() },
		End: func(*testing.T) {
			begin := time.Now()
			start()
			startTook = time.Since(begin)
		},
		Bound: faultBound,
	})
	t.Logf("of the recovery, PostgreSQL took %v to accept connections; the sessions answered %v later",
		startTook.Round(time.Millisecond), (f.Recovery - startTook).Round(time.Millisecond))
}

// TestServerStopped: two application servers on one database, each with
// a pool of its own; one stops halfway through a load and the other serves
// every session with every acknowledged write (sessiontest.ServerStopped).
func TestServerStopped(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		dbs := pools(t, b, 2)
		for _, db := range dbs {
			db.SetMaxIdleConns(16) // as many as the clients: no new connection per request
		}
		n := 0
		sessiontest.ServerStopped(t, func(t *testing.T) *session.Manager {
			n++
			return faultManager(t, dbs[n-1], b.dialect)
		})
	})
}
