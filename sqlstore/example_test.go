package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

// Sessions in an SQLite file, which outlive the process: no server to run.
func Example() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	db, err := sqlstore.OpenSQLite(filepath.Join(dir, "sessions.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite, Application: "shop"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	ctx := context.Background()
	id := "Zm9yIGV4YW1wbGUgb25seQ" // real IDs are 16 random bytes, base64url
	if err := s.Create(ctx, id, map[string][]byte{"user": []byte("42")}, 24*time.Hour, 0); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"cart": []byte("3 items")}}, 24*time.Hour, 0); err != nil {
		fmt.Println(err)
		return
	}
	values, found, err := s.Load(ctx, id, 0)
	fmt.Println(found, err, string(values["user"]), string(values["cart"]))

	// One row per value: readable with any SQL client.
	var cart []byte
	err = db.QueryRow(`SELECT value FROM sessions_values WHERE app = 'shop' AND id = ? AND key = ?`, id, []byte("cart")).Scan(&cart)
	fmt.Println(string(cart), err)
	// Output:
	// true <nil> 42 3 items
	// 3 items <nil>
}

// A farm of servers on one PostgreSQL: each runs New, which creates or
// upgrades the tables once, whoever starts first.
func ExampleNew_postgres() {
	db, err := sql.Open("pgx", "postgres://app:secret@db.internal:5432/app")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	// A few connections per core of the database server, all kept open:
	// database/sql keeps 2 idle ones unless told, and a busy server would
	// connect anew for most requests.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	s, err := sqlstore.New(db, sqlstore.Config{
		Dialect:     sqlstore.Postgres,
		Application: "shop",
		Table:       "shop_sessions", // and shop_sessions_values, ...
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
}
