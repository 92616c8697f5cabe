package sqltest

import (
	"context"
	"database/sql/driver"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
)

// SQLitePath returns the path of a SQLite database file, not yet created, in
// a directory of the test's own that t.Cleanup removes.
func SQLitePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "sessions.db")
}

// SQLiteConnector returns a connector that opens dsn with modernc.org/sqlite,
// for a test that wraps it (see Counter).
func SQLiteConnector(dsn string) driver.Connector {
	return dsnConnector{dsn}
}

// dsnConnector opens connections to one DSN: modernc.org/sqlite's driver
// has no OpenConnector of its own.
type dsnConnector struct{ dsn string }

func (k dsnConnector) Connect(context.Context) (driver.Conn, error) {
	return (&sqlite.Driver{}).Open(k.dsn)
}

func (dsnConnector) Driver() driver.Driver { return &sqlite.Driver{} }
