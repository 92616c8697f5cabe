package sqltest_test

import (
	"os"
	"testing"

	"github.com/seed58a3dad2/session/internal/sqltest"
)

func TestMain(m *testing.M) { os.Exit(sqltest.Main(m)) }

func TestPostgres(t *testing.T) {
	t.Run("each test gets a schema of its own, first on its search_path", func(t *testing.T) {
		var first, second string
		for _, name := range []*string{&first, &second} {
			t.Run("", func(t *testing.T) {
				db := sqltest.Postgres(t)
				if err := db.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(name); err != nil {
					t.Fatalf("current_schema: %v", err)
				}
			})
		}
		if first == "" || first == second || first == "public" {
			t.Errorf("got schemas %q and %q, want two different ones of the tests' own", first, second)
		}
	})
}

func TestName(t *testing.T) {
	for query, want := range map[string]string{
		"/* sqlstore: update guard */ UPDATE x": "update guard",
		"/* other */ SELECT 1":                  "other",
		"  BEGIN IMMEDIATE":                     "begin",
		"COMMIT":                                "commit",
		"select 1":                              "select",
	} {
		if got := sqltest.Name(query); got != want {
			t.Errorf("Name(%q): got %q, want %q", query, got, want)
		}
	}
}

func TestStoppablePostgres(t *testing.T) {
	db, stop, start := sqltest.StoppablePostgres(t)
	ctx := t.Context()
	for _, q := range []string{"CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('acknowledged')"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: got error %v, want nil", q, err)
		}
	}
	var setting string
	if err := db.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&setting); err != nil || setting != "on" {
		t.Errorf("SHOW synchronous_commit: got %q, %v, want on", setting, err)
	}
	stop()
	t.Run("a stopped server answers nothing", func(t *testing.T) {
		if err := db.PingContext(ctx); err == nil {
			t.Errorf("Ping after stop: got nil, want an error")
		}
	})
	start()
	t.Run("the started server, on the same address, has the acknowledged commit", func(t *testing.T) {
		var v string
		if err := db.QueryRowContext(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "acknowledged" {
			t.Errorf("SELECT: got %q, %v, want \"acknowledged\"", v, err)
		}
	})
}
