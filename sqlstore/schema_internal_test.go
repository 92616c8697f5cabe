package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // OpenSQLite's driver

	"github.com/seed58a3dad2/session/internal/sqltest"
)

func TestMigrate(t *testing.T) {
	v2 := migration{
		version:  2,
		postgres: []string{`ALTER TABLE {T} ADD COLUMN note text`},
		sqlite:   []string{`ALTER TABLE {T} ADD COLUMN note TEXT`},
	}
	for _, b := range []struct {
		name    string
		dialect Dialect
		open    func(t *testing.T) *sql.DB
	}{
		{"on SQLite", SQLite, func(t *testing.T) *sql.DB {
			db, err := OpenSQLite(sqltest.SQLitePath(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}},
		{"on PostgreSQL", Postgres, func(t *testing.T) *sql.DB { return sqltest.Postgres(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Run("a new version is applied once, over the tables of the last", func(t *testing.T) {
				db := b.open(t)
				s, err := New(db, Config{Dialect: b.dialect, SweepInterval: -1})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				steps := append(slices.Clone(migrations), v2)
				for range 2 {
					if err := s.e.setup(t.Context(), steps); err != nil {
						t.Fatalf("setup with version 2: got error %v, want nil", err)
					}
				}
				if got := schemaVersions(t, db); !slices.Equal(got, []int{1, 2}) {
					t.Errorf("schema versions: got %v, want [1 2]", got)
				}
				if _, err := db.ExecContext(t.Context(), `UPDATE sessions SET note = 'x'`); err != nil {
					t.Errorf("the column of version 2: %v", err)
				}
				// A server that knows version 1 only refuses the tables.
				_, err = New(db, Config{Dialect: b.dialect, SweepInterval: -1})
				if err == nil || !strings.Contains(err.Error(), "newer than this sqlstore knows") {
					t.Errorf("New on tables of a newer version: got error %v, want one saying so", err)
				}
			})
		})
	}
}

// schemaVersions returns the versions recorded in sessions_schema.
func schemaVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT version FROM sessions_schema ORDER BY version")
	if err != nil {
		t.Fatal(err)
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
