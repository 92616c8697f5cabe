package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// SQLiteDriver is the name OpenSQLite opens databases with: the name
// modernc.org/sqlite registers its database/sql driver under.
const SQLiteDriver = "sqlite"

// sqliteParams are the settings of every connection, in modernc.org/sqlite's
// DSN syntax (see SQLiteDSN).
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

// SQLiteDSN returns the modernc.org/sqlite DSN OpenSQLite opens path with,
// for a program that opens the database itself: "file:" and the path, with
// the characters that SQLite's URI filenames give a meaning escaped, then
// the parameters that set a busy timeout of 10 seconds (wait for another
// process's write lock instead of failing at once), write-ahead logging
// (readers never wait for the writer) and synchronous=NORMAL (in that mode
// no committed transaction is lost when the process dies; only, possibly,
// the last ones when the machine loses power).
func SQLiteDSN(path string) string {
	return "file:" + escapePath(path) + "?" + sqliteParams
}

// OpenSQLite opens the SQLite database file at path, creating it and its
// directory if missing, with the settings a Store needs, and checks that it
// can be read and written. It opens it with the database/sql driver
// registered as "sqlite", which sqlstore does not import: the program does,
// with
//
//	import _ "modernc.org/sqlite" // pure Go, no cgo
//
// OpenSQLite is sql.Open("sqlite", SQLiteDSN(path)) with a pool of at most 2×GOMAXPROCS connections
// (at least 4), all kept open: readers run in parallel, writers take turns
// anyway. With another driver, open the database with the same settings
// (for mattn/go-sqlite3:
// "file:PATH?_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL").
func OpenSQLite(path string) (*sql.DB, error) {
	if !slices.Contains(sql.Drivers(), SQLiteDriver) {
		return nil, fmt.Errorf("sqlstore: OpenSQLite: no database/sql driver is registered as %q: "+
			`add import _ "modernc.org/sqlite" to package main`, SQLiteDriver)
	}
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlstore: OpenSQLite: %q is not a file: sessions must outlive the process", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlstore: OpenSQLite: create the directory of %s: %w", path, err)
		}
	}
	db, err := sql.Open(SQLiteDriver, SQLiteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: OpenSQLite %s: %w", path, err)
	}
	conns := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A connection switches the file to WAL, a write: the file is created
	// now, and one that cannot be written fails here.
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: OpenSQLite %s: %w", path, err)
	}
	return db, nil
}

// escapePath escapes what SQLite's URI filenames give a meaning: '%' starts
// an escape, '?' the parameters, '#' a fragment.
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}
