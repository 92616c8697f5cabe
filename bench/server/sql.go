package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers "sqlite", for OpenSQLite

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/sqltest"
	"github.com/seed58a3dad2/session/sqlstore"
)

// sqlContenders run on a SQL database instead of Redis: this library's
// sqlstore, scs's SQL stores (the closest peers: one row per session, the
// whole session as one blob) and a floor of one statement per request, each
// on SQLite (a file of its own, -sqlite) and on PostgreSQL (-pg).
var sqlContenders = map[string]sqlContender{
	"session-sqlite": {sqlstore.SQLite, oursSQL, oursTables},
	"session-pg":     {sqlstore.Postgres, oursSQL, oursTables},
	"scs-sqlite":     {sqlstore.SQLite, scsSQL, []string{"scs_sessions"}},
	"scs-pg":         {sqlstore.Postgres, scsSQL, []string{"scs_sessions"}},
	"floor-sqlite":   {sqlstore.SQLite, floorSQL, []string{"floor_sessions"}},
	"floor-pg":       {sqlstore.Postgres, floorSQL, []string{"floor_sessions"}},
}

// A sqlContender is built on a database of its dialect; tables are the
// tables whose rows /_reset deletes, in that order.
type sqlContender struct {
	dialect sqlstore.Dialect
	build   func(*sql.DB, sqlstore.Dialect) instance
	tables  []string
}

// oursTables are the tables of sqlstore (default Config.Table) that hold
// sessions and what they left: values first, which SQLite's sessions have
// no foreign key to delete with them. Its schema, counts and applications
// stay: the store reads them at New.
var oursTables = []string{"sessions_values", "sessions_reservations", "sessions_events", "sessions"}

// wipe deletes every row of the contender's tables that exist; the first
// build creates them.
func (sc sqlContender) wipe(db *sql.DB) error {
	for _, t := range sc.tables {
		var exists bool
		q := `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1)`
		if sc.dialect == sqlstore.Postgres {
			q = `SELECT to_regclass($1) IS NOT NULL`
		}
		if err := db.QueryRow(q, t).Scan(&exists); err != nil {
			return fmt.Errorf("table %s: %w", t, err)
		}
		if !exists {
			continue
		}
		if _, err := db.Exec(`DELETE FROM ` + t); err != nil {
			return fmt.Errorf("emptying %s: %w", t, err)
		}
	}
	return nil
}

// openSQL opens the database of a SQL contender through a connector that
// counts what the driver is sent, for /_stats: every statement, BEGIN and
// COMMIT is a round trip to PostgreSQL (a statement run in process on
// SQLite), and the statements alone are the commands. Every contender gets
// the same pool and the same SQLite settings (sqlstore.SQLiteDSN: WAL, a
// busy timeout, synchronous=NORMAL). On PostgreSQL the pool is at most 4
// connections per core of this machine, which the database runs on, as the
// README asks of a program ("Size the pool"): with more, the contenders'
// clients queue in the kernel's scheduler among the server's processes
// instead of in the pool, and the 99th percentile of a contender whose
// statements cost the database more grows several times.
func openSQL(dialect sqlstore.Dialect, sqlitePath, dsn string, pool int) (*sql.DB, *sqlStats) {
	var inner driver.Connector
	switch dialect {
	case sqlstore.SQLite:
		if sqlitePath == "" {
			log.Fatal("-sqlite is required for a SQLite contender (run.sh gives each a file of its own)")
		}
		// Opened once with OpenSQLite, which creates the file and its
		// directory, then through the counting connector.
		db, err := sqlstore.OpenSQLite(sqlitePath)
		if err != nil {
			log.Fatal(err)
		}
		db.Close()
		inner = sqltest.SQLiteConnector(sqlstore.SQLiteDSN(sqlitePath)) // modernc.org/sqlite
	case sqlstore.Postgres:
		if dsn == "" {
			log.Fatal("-pg is required for a PostgreSQL contender (run.sh starts a private server)")
		}
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			log.Fatalf("-pg: %v", err)
		}
		inner = stdlib.GetConnector(*cfg)
		pool = min(pool, 4*runtime.NumCPU())
	}
	stats := &sqlStats{}
	db := sql.OpenDB(sqltest.Hook(inner, stats.record))
	db.SetMaxOpenConns(pool)
	db.SetMaxIdleConns(pool)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		log.Fatalf("%v: %v", dialect, err)
	}
	return db, stats
}

// sqlStats counts what a SQL contender sends its database.
type sqlStats struct {
	roundTrips, statements atomic.Int64
}

func (s *sqlStats) record(name string) {
	s.roundTrips.Add(1)
	switch name {
	case "begin", "commit", "rollback":
	default:
		s.statements.Add(1)
	}
}

// ServeHTTP answers as counter.ServeHTTP does, with statements as commands.
func (s *sqlStats) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"round_trips":%d,"commands":%d,"cpu_us":%d}`, s.roundTrips.Load(), s.statements.Load(), cpu.Microseconds())
}

// oursSQL is this library on sqlstore, with its defaults.
func oursSQL(db *sql.DB, dialect sqlstore.Dialect) instance {
	st, err := sqlstore.New(db, sqlstore.Config{Dialect: dialect, Application: "bench"})
	if err != nil {
		log.Fatal(err)
	}
	return ours(session.Config{Store: st})
}

// scsSQL is scs on its SQL store for the dialect (postgresstore,
// sqlite3store: both plain database/sql), in a table of its own created
// as their READMEs say, with an IdleTimeout like ours.
func scsSQL(db *sql.DB, dialect sqlstore.Dialect) instance {
	var ddl []string
	var st interface {
		scs.Store
		StopCleanup()
	}
	switch dialect {
	case sqlstore.Postgres:
		ddl = []string{
			`CREATE TABLE IF NOT EXISTS scs_sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS scs_sessions_expiry_idx ON scs_sessions (expiry)`,
		}
		st = postgresstore.NewWithConfig(db, postgresstore.Config{TableName: "scs_sessions", CleanUpInterval: 5 * time.Minute})
	case sqlstore.SQLite:
		ddl = []string{
			`CREATE TABLE IF NOT EXISTS scs_sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS scs_sessions_expiry_idx ON scs_sessions (expiry)`,
		}
		st = sqlite3store.NewWithConfig(db, sqlite3store.Config{TableName: "scs_sessions", CleanUpInterval: 5 * time.Minute})
	}
	for _, stmt := range ddl {
		if _, err := db.Exec(stmt); err != nil {
			log.Fatal(err)
		}
	}
	return instance{h: scsWith(st), close: st.StopCleanup}
}

// floorSQL is the least a SQL-backed session can cost: an unsigned random
// ID in a cookie and exactly one statement per request (INSERT, SELECT,
// UPDATE ... RETURNING, UPDATE; nothing for /noop), on a row per session
// with a column per value.
func floorSQL(db *sql.DB, dialect sqlstore.Dialect) instance {
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS floor_sessions (id TEXT PRIMARY KEY, usr TEXT NOT NULL, n BIGINT NOT NULL, flash TEXT, expires BIGINT NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	const cookie = "fid"
	id := func(r *http.Request) string {
		ck, err := r.Cookie(cookie)
		if err != nil {
			return ""
		}
		return ck.Value
	}
	expires := func() int64 { return time.Now().Add(idleTimeout).UnixMilli() }
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		v := base64.RawURLEncoding.EncodeToString(b[:])
		if _, err := db.ExecContext(r.Context(), `INSERT INTO floor_sessions (id, usr, n, expires) VALUES ($1, 'ann', 0, $2)`, v, expires()); err != nil {
			fail(w, err.Error())
			return
		}
		http.SetCookie(w, &http.Cookie{Name: cookie, Value: v, Path: "/", MaxAge: int(idleTimeout / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
		reply(w, "ok")
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		var user string
		if err := db.QueryRowContext(r.Context(), `SELECT usr FROM floor_sessions WHERE id = $1 AND expires > $2`, id(r), time.Now().UnixMilli()).Scan(&user); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, user)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		if err := db.QueryRowContext(r.Context(), `UPDATE floor_sessions SET n = n + 1, expires = $2 WHERE id = $1 RETURNING n`, id(r), expires()).Scan(&n); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, strconv.FormatInt(n, 10))
	})
	mux.HandleFunc("/writeonly", func(w http.ResponseWriter, r *http.Request) {
		if _, err := db.ExecContext(r.Context(), `UPDATE floor_sessions SET n = 7, expires = $2 WHERE id = $1`, id(r), expires()); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, "ok")
	})
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		if err := db.QueryRowContext(r.Context(), `UPDATE floor_sessions SET n = n + 1, expires = $2 WHERE id = $1 RETURNING n`, id(r), expires()).Scan(&n); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, strconv.FormatInt(n, 10))
	})
	// A flash column would cost the same statement as /writeonly: set it to
	// NULL and return what it held.
	mux.HandleFunc("/take", func(w http.ResponseWriter, r *http.Request) {
		var flash sql.NullString
		if err := db.QueryRowContext(r.Context(), `UPDATE floor_sessions SET flash = NULL, expires = $2 WHERE id = $1 RETURNING flash`, id(r), expires()).Scan(&flash); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, flash.String)
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	return instance{h: mux, close: func() {}}
}
