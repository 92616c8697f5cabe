package sqlstore_test

import (
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	_ "modernc.org/sqlite" // OpenSQLite's driver

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/sqltest"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		// The test binary run again by TestSQLiteSurvivesAKill.
		os.Exit(writeUntilKilled(path))
	}
	code := sqltest.Main(m)
	// After sqltest.Main has closed the shared pool and stopped the private
	// PostgreSQL: no goroutine of the store (a sweeper, a reaper, a
	// subscription) may outlive the tests.
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintf(os.Stderr, "goleak: goroutines left after the tests: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// backend is a database to run tests against.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	// open returns a database no other test uses: a new SQLite file, or a
	// schema of the test's own on PostgreSQL (skipped without one).
	open func(t testing.TB) *sql.DB
}

var backends = []backend{
	{"on SQLite", sqlstore.SQLite, openSQLite},
	{"on PostgreSQL", sqlstore.Postgres, func(t testing.TB) *sql.DB { return sqltest.Postgres(t) }},
}

// openSQLite returns a new SQLite database file, opened with OpenSQLite.
func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLite(sqltest.SQLitePath(t))
	if err != nil {
		t.Fatalf("OpenSQLite: got error %v, want nil", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newStore returns a Store on db, closed in t.Cleanup. Its sweeper is off
// (tests sweep when they mean to) unless cfg says otherwise.
func newStore(t testing.TB, db *sql.DB, dialect sqlstore.Dialect, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	cfg.Dialect = dialect
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = -1
	}
	s, err := sqlstore.New(db, cfg)
	if err != nil {
		t.Fatalf("New: got error %v, want nil", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fresh returns a Store on a database of its own, and its clock.
func fresh(t testing.TB, b backend) (*sqlstore.Store, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New()
	return newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now}), clock
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Harness {
				clock := fakeclock.New()
				s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now, Retention: 2 * time.Hour, PollInterval: 5 * time.Millisecond})
				return storetest.Harness{Store: s, Advance: clock.Advance, Now: clock.Now, Retention: 2 * time.Hour}
			})
		})
	}
}
