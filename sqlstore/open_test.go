package sqlstore_test

import (
	"testing"
	"time"

	"github.com/seed58a3dad2/session/sqlstore"
)

func TestOpenSQLite(t *testing.T) {
	t.Run("OpenSQLite creates the file and its directories, whatever the characters of the path", func(t *testing.T) {
		path := t.TempDir() + "/a/b c/sessions?#%.db"
		db, err := sqlstore.OpenSQLite(path)
		if err != nil {
			t.Fatalf("OpenSQLite: got error %v, want nil", err)
		}
		defer db.Close()
		s := newStore(t, db, sqlstore.SQLite, sqlstore.Config{})
		mustCreate(t, s, "id", nil, time.Hour)
		_ = s.Close()
		_ = db.Close()
		again, err := sqlstore.OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		s = newStore(t, again, sqlstore.SQLite, sqlstore.Config{})
		if _, found, err := s.Load(t.Context(), "id", 0); err != nil || !found {
			t.Errorf("Load after reopening %q: got %v, %v, want true, nil", path, found, err)
		}
	})
	t.Run("SQLiteDSN escapes what SQLite's URI filenames give a meaning", func(t *testing.T) {
		got := sqlstore.SQLiteDSN("/a b/c?d#e%f.db")
		want := "file:/a b/c%3fd%23e%25f.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
		if got != want {
			t.Errorf("SQLiteDSN: got %q, want %q", got, want)
		}
	})
}
