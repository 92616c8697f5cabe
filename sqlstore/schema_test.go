package sqlstore_test

import (
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/seed58a3dad2/session/internal/sqltest"
	"github.com/seed58a3dad2/session/sqlstore"
)

// pools returns n connection pools to one database no other test uses, so
// that each can stand for a server of its own.
func pools(t *testing.T, b backend, n int) []*sql.DB {
	t.Helper()
	dbs := make([]*sql.DB, n)
	if b.dialect == sqlstore.SQLite {
		path := sqltest.SQLitePath(t)
		for i := range dbs {
			db, err := sqlstore.OpenSQLite(path)
			if err != nil {
				t.Fatalf("OpenSQLite: %v", err)
			}
			t.Cleanup(func() { _ = db.Close() })
			dbs[i] = db
		}
		return dbs
	}
	cfg := sqltest.PostgresConfig(t)
	for i := range dbs {
		dbs[i] = stdlib.OpenDB(*cfg)
		t.Cleanup(func() { _ = dbs[i].Close() })
	}
	return dbs
}

// versions returns the schema versions recorded in table.
func versions(t *testing.T, db *sql.DB, table string) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version FROM "+table+" ORDER BY version")
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestSchema(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		t.Run("servers starting at once on an empty database create the tables once", func(t *testing.T) {
			dbs := pools(t, b, 6)
			var wg sync.WaitGroup
			for _, db := range dbs {
				wg.Go(func() {
					s, err := sqlstore.New(db, sqlstore.Config{Dialect: b.dialect, SweepInterval: -1})
					if err != nil {
						t.Errorf("New: got error %v, want nil", err)
						return
					}
					_ = s.Close()
				})
			}
			wg.Wait()
			if got := versions(t, dbs[0], "sessions_schema"); len(got) != 1 || got[0] != 1 {
				t.Errorf("schema versions: got %v, want [1]", got)
			}
			// And once more, on tables that exist.
			newStore(t, dbs[0], b.dialect, sqlstore.Config{})
			if got := versions(t, dbs[0], "sessions_schema"); len(got) != 1 {
				t.Errorf("schema versions after another New: got %v, want [1]", got)
			}
		})

		t.Run("Table names the tables; stores with different names share nothing", func(t *testing.T) {
			db := b.open(t)
			named := newStore(t, db, b.dialect, sqlstore.Config{Table: "auth_sessions"})
			plain := newStore(t, db, b.dialect, sqlstore.Config{})
			mustCreate(t, named, "id", kv("a", "1"), time.Hour)
			for table, want := range map[string]int{"auth_sessions": 1, "auth_sessions_values": 1, "sessions": 0, "sessions_values": 0} {
				if got := rows(t, db, table); got != want {
					t.Errorf("rows of %s: got %d, want %d", table, got, want)
				}
			}
			if _, found, _ := plain.Load(t.Context(), "id", 0); found {
				t.Errorf("Load from the other tables: got found=true, want false")
			}
		})
	})
}

func TestNew(t *testing.T) {
	db := openSQLite(t)
	for _, tt := range []struct {
		name string
		db   *sql.DB
		cfg  sqlstore.Config
		want string // in the error
	}{
		{"no database", nil, sqlstore.Config{Dialect: sqlstore.SQLite}, "db is nil"},
		{"no dialect", db, sqlstore.Config{}, "use sqlstore.Postgres or sqlstore.SQLite"},
		{"an unknown dialect", db, sqlstore.Config{Dialect: 9}, "unknown Config.Dialect 9"},
		{"a table name that is not an identifier", db, sqlstore.Config{Dialect: sqlstore.SQLite, Table: `x"; DROP TABLE y; --`}, "Config.Table"},
		{"a table name too long", db, sqlstore.Config{Dialect: sqlstore.SQLite, Table: strings.Repeat("t", 41)}, "at most 40"},
		{"a negative Retention", db, sqlstore.Config{Dialect: sqlstore.SQLite, Retention: -time.Second}, "must not be negative"},
	} {
		t.Run(tt.name+" is refused with a message that says what to do", func(t *testing.T) {
			s, err := sqlstore.New(tt.db, tt.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatalf("New: got error nil, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: got error %q, want one containing %q", err, tt.want)
			}
		})
	}

	t.Run("an SQLite pool that does not wait for locks is refused", func(t *testing.T) {
		db, err := sql.Open(sqlstore.SQLiteDriver, sqltest.SQLitePath(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_, err = sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
		if err == nil || !strings.Contains(err.Error(), "busy_timeout") {
			t.Errorf("New: got error %v, want one about busy_timeout", err)
		}
	})

	t.Run("an in-memory SQLite database is refused", func(t *testing.T) {
		db, err := sql.Open(sqlstore.SQLiteDriver, ":memory:?_pragma=busy_timeout(1000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_, err = sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
		if err == nil || !strings.Contains(err.Error(), "in-memory") {
			t.Errorf("New: got error %v, want one about in-memory databases", err)
		}
	})

}
