package sqlstore_test

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/sqltest"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

// These tests pin down what each operation costs: the statements the driver
// receives, by the name each statement's comment gives it, with "begin",
// "commit" and "rollback" for the ends of transactions. On PostgreSQL each
// is one round trip to the server; on SQLite each runs in process. The
// README's table is this one.

// counted returns a Store on a database of its own whose driver reports to
// a Counter, reset after New.
func counted(t *testing.T, b backend, cfg sqlstore.Config) (*sqlstore.Store, *sqltest.Counter) {
	t.Helper()
	counter := &sqltest.Counter{}
	var inner driver.Connector
	if b.dialect == sqlstore.SQLite {
		inner = sqltest.SQLiteConnector(sqlstore.SQLiteDSN(sqltest.SQLitePath(t)))
	} else {
		inner = sqltest.PostgresConnector(t)
	}
	db := sql.OpenDB(counter.Connector(inner))
	t.Cleanup(func() { _ = db.Close() })
	s := newStore(t, db, b.dialect, cfg)
	counter.Reset()
	return s, counter
}

// cost is what an operation sends, per dialect.
type cost struct {
	postgres, sqlite []string
}

// split turns "begin guard apply commit" into its names, each name's words
// joined by '_' in the text ("load_and_touch").
func split(names string) []string {
	if names == "" {
		return nil
	}
	out := strings.Fields(names)
	for i, n := range out {
		out[i] = strings.ReplaceAll(n, "_", " ")
	}
	return out
}

func costs(postgres, sqlite string) cost { return cost{split(postgres), split(sqlite)} }

// step is one operation of a statement test and what it must send.
type step struct {
	name string
	call func() error
	cost cost
}

// runSteps runs each step as a subtest and checks the statements the
// counter saw it send on b's database.
func runSteps(t *testing.T, b backend, counter *sqltest.Counter, steps []step) {
	t.Helper()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			counter.Reset()
			if err := st.call(); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			want := st.cost.postgres
			if b.dialect == sqlstore.SQLite {
				want = st.cost.sqlite
			}
			got := counter.Statements()
			if !slices.Equal(got, want) {
				t.Errorf("statements: got %q, want %q", got, want)
			}
			if b.dialect == sqlstore.SQLite {
				wantWriteFirst(t, got)
			}
		})
	}
}

func TestStatements(t *testing.T) {
	const hour = time.Hour
	vals := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clock := fakeclock.New()
			s, counter := counted(t, b, sqlstore.Config{Now: clock.Now})
			ctx := t.Context()
			// create makes a session for a step, uncounted.
			create := func(id string, v map[string][]byte) {
				t.Helper()
				if err := s.Create(ctx, id, v, hour, 0); err != nil {
					t.Fatalf("Create(%s): got error %v, want nil", id, err)
				}
				counter.Reset()
			}
			steps := []step{
				{"create is one statement", func() error {
					return s.Create(ctx, "Aid", vals, hour, 256)
				}, costs("create", "begin consume_reservation create set_values commit")},
				{"create of an existing ID is the same", func() error {
					if err := s.Create(ctx, "Aid", vals, hour, 0); !errors.Is(err, store.ErrExists) {
						t.Errorf("Create: got error %v, want %v", err, store.ErrExists)
					}
					return nil
				}, costs("create", "begin consume_reservation create rollback")},
				{"create without values", func() error {
					return s.Create(ctx, "Aempty", nil, hour, 0)
				}, costs("create", "begin consume_reservation create commit")},
				{"create under a reservation is the same", func() error {
					if _, err := s.Reserve(ctx, "Acounted", 0); err != nil {
						return err
					}
					counter.Reset()
					return s.Create(ctx, "Acounted", vals, hour, 256)
				}, costs("create", "begin consume_reservation create set_values commit")},
				{"create with too many keys sends nothing", func() error {
					if err := s.Create(ctx, "Aother", vals, hour, 1); !errors.Is(err, store.ErrTooManyKeys) {
						t.Errorf("Create: got error %v, want %v", err, store.ErrTooManyKeys)
					}
					return nil
				}, costs("", "")},
				{"load without a ttl is one query", func() error {
					_, _, err := s.Load(ctx, "Aid", 0)
					return err
				}, costs("load", "load")},
				{"load with a ttl (a touch) is one query on PostgreSQL", func() error {
					_, _, err := s.Load(ctx, "Aid", hour)
					return err
				}, costs("load_and_touch", "begin touch load commit")},
				{"load of a missing session with a ttl", func() error {
					_, _, err := s.Load(ctx, "Amissing", hour)
					return err
				}, costs("load_and_touch", "begin touch rollback")},
				{"update that sets keys, within MaxKeys, is one statement on PostgreSQL", func() error {
					_, err := s.Update(ctx, "Aid", store.Delta{Set: vals}, hour, 256)
					return err
				}, costs("update", "begin guard set_values recount commit")},
				{"update without MaxKeys", func() error {
					_, err := s.Update(ctx, "Aid", store.Delta{Set: vals}, hour, 0)
					return err
				}, costs("update", "begin guard set_values recount commit")},
				{"update with an empty delta", func() error {
					_, err := s.Update(ctx, "Aid", store.Delta{}, hour, 256)
					return err
				}, costs("update", "begin guard commit")},
				{"update of a missing session", func() error {
					_, err := s.Update(ctx, "Amissing", store.Delta{Set: vals}, hour, 256)
					return err
				}, costs("update", "begin guard rollback")},
				{"update that deletes keys is a transaction of two on PostgreSQL", func() error {
					_, err := s.Update(ctx, "Aid", store.Delta{Del: []string{"a"}, Set: map[string][]byte{"c": nil}}, hour, 256)
					return err
				}, costs("begin guard apply commit", "begin guard delete_values set_values recount commit")},
				{"update that clears", func() error {
					_, err := s.Update(ctx, "Aid", store.Delta{Clear: true, Set: vals}, hour, 256)
					return err
				}, costs("begin guard apply commit", "begin guard clear_values set_values recount commit")},
				{"update of a missing session that deletes keys", func() error {
					_, err := s.Update(ctx, "Amissing", store.Delta{Del: []string{"a"}}, hour, 256)
					return err
				}, costs("begin guard rollback", "begin guard rollback")},
				{"update beyond MaxKeys", func() error {
					_, err := s.Update(ctx, "Aid", store.Delta{Set: map[string][]byte{"z": nil}}, hour, 2)
					if !errors.Is(err, store.ErrTooManyKeys) {
						t.Errorf("Update: got error %v, want %v", err, store.ErrTooManyKeys)
					}
					return nil
				}, costs("update begin guard apply rollback", "begin guard set_values recount rollback")},
				// nkeys, the bound on a session's keys, grows by every key
				// an update sets, new or not; past MaxKeys, the
				// transaction counts exactly and sets it right.
				{"an update whose bound reaches MaxKeys is one statement", func() error {
					create("Abound", vals)
					_, err := s.Update(ctx, "Abound", store.Delta{Set: kv("a", "x")}, hour, 3)
					return err
				}, costs("update", "begin guard set_values recount commit")},
				{"an update whose bound would pass MaxKeys counts exactly", func() error {
					found, err := s.Update(ctx, "Abound", store.Delta{Set: kv("a", "y")}, hour, 3)
					if !found {
						t.Errorf("Update: got found=false, want true")
					}
					return err
				}, costs("update begin guard apply commit", "begin guard set_values recount commit")},
				{"and the next is one statement again", func() error {
					_, err := s.Update(ctx, "Abound", store.Delta{Set: kv("a", "z")}, hour, 3)
					return err
				}, costs("update", "begin guard set_values recount commit")},
				{"update with a ttl of zero is a delete", func() error {
					create("Aending", nil)
					_, err := s.Update(ctx, "Aending", store.Delta{Set: vals}, 0, 0)
					return err
				}, costs("delete", "begin delete drop_values commit")},
				{"touch is one statement", func() error {
					_, err := s.Touch(ctx, "Aid", hour)
					return err
				}, costs("touch", "touch")},
				{"touch of a missing session", func() error {
					_, err := s.Touch(ctx, "Amissing", hour)
					return err
				}, costs("touch", "touch")},
				{"move is a transaction of one statement", func() error {
					create("Amoving", vals)
					_, err := s.Move(ctx, "Amoving", "Amoved", store.Delta{}, hour, 0)
					return err
				}, costs("begin move commit", "begin consume_reservation move move_values commit")},
				// The README's table: "Move (renew at login) | a
				// transaction of 1 | 3 in a transaction, 5 with a change".
				// The middleware's Renew asks with its MaxKeys (256 by
				// default), not 0.
				{"a renewal as the middleware asks for it, with MaxKeys and no change, is the same", func() error {
					create("Ermoving", vals)
					_, err := s.Move(ctx, "Ermoving", "Ermoved", store.Delta{}, hour, 256)
					return err
				}, costs("begin move commit", "begin consume_reservation move move_values commit")},
				{"move with a change is a transaction of two", func() error {
					create("Bmoving", vals)
					_, err := s.Move(ctx, "Bmoving", "Bmoved", store.Delta{Set: vals}, hour, 256)
					return err
				}, costs("begin move apply commit", "begin consume_reservation move move_values set_values recount commit")},
				{"move to an ID with another first character is the same", func() error {
					create("Cmoving", vals)
					_, err := s.Move(ctx, "Cmoving", "Dmoved", store.Delta{}, hour, 0)
					return err
				}, costs("begin move commit", "begin consume_reservation move move_values commit")},
				{"move of a counted session to a reserved ID drops a count", func() error {
					if _, err := s.Reserve(ctx, "Acounted2", 0); err != nil {
						return err
					}
					counter.Reset()
					_, err := s.Move(ctx, "Acounted", "Acounted2", store.Delta{}, hour, 0)
					return err
				}, costs("begin move commit", "begin consume_reservation counted move move_values count commit")},
				{"move of a missing session", func() error {
					_, err := s.Move(ctx, "Amissing", "Amissed", store.Delta{Set: vals}, hour, 0)
					return err
				}, costs("begin move rollback", "begin consume_reservation move taken rollback")},
				{"move onto a stored ID", func() error {
					if _, err := s.Move(ctx, "Amoved", "Aid", store.Delta{}, hour, 0); !errors.Is(err, store.ErrExists) {
						t.Errorf("Move: got error %v, want %v", err, store.ErrExists)
					}
					return nil
				}, costs("begin move rollback", "begin consume_reservation move taken rollback")},
				{"move with a ttl of zero is a delete", func() error {
					_, err := s.Move(ctx, "Amoved", "Agone", store.Delta{Set: vals}, 0, 0)
					return err
				}, costs("delete", "begin delete drop_values commit")},
				{"delete is one statement", func() error {
					_, err := s.Delete(ctx, "Aempty")
					return err
				}, costs("delete", "begin delete drop_values commit")},
				{"delete of a counted session stops counting it", func() error {
					_, err := s.Delete(ctx, "Acounted2")
					return err
				}, costs("delete", "begin delete drop_values count commit")},
				{"delete of a missing session", func() error {
					_, err := s.Delete(ctx, "Aempty")
					return err
				}, costs("delete", "begin delete commit")},
			}
			runSteps(t, b, counter, steps)
		})
	}
}

func TestApplyStatements(t *testing.T) {
	const hour = time.Hour
	add := func(pairs ...any) map[string]int64 {
		m := make(map[string]int64)
		for i := 0; i+1 < len(pairs); i += 2 {
			m[pairs[i].(string)] = int64(pairs[i+1].(int))
		}
		return m
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clock := fakeclock.New()
			s, counter := counted(t, b, sqlstore.Config{Now: clock.Now})
			ctx := t.Context()
			if err := s.Create(ctx, "Aid", kv("n", "1", "flash", "x", "a", "1"), hour, 0); err != nil {
				t.Fatal(err)
			}
			// apply calls Apply and checks what it returns.
			apply := func(d store.Delta, maxKeys int, want map[string][]byte) error {
				t.Helper()
				got, found, err := s.Apply(ctx, "Aid", d, hour, maxKeys)
				if err != nil {
					return err
				}
				if !found || !equalValues(got, want) {
					t.Errorf("Apply(%+v): got %q, %v, want %q, true", d, got, found, want)
				}
				return nil
			}
			steps := []step{
				{"apply without Add or Take is an update", func() error {
					return apply(store.Delta{Set: kv("a", "2")}, 256, nil)
				}, costs("update", "begin guard set_values recount commit")},
				{"apply without Add or Take that deletes is an update that deletes", func() error {
					return apply(store.Delta{Del: []string{"a"}}, 256, nil)
				}, costs("begin guard apply commit", "begin guard delete_values recount commit")},
				{"apply that adds to a stored value: one statement on PostgreSQL, which adds in its upsert", func() error {
					return apply(store.Delta{Add: add("n", 1)}, 256, kv("n", "2"))
				}, costs("add", "begin guard read_values set_values recount commit")},
				{"apply that adds to a key it sets reads nothing", func() error {
					return apply(store.Delta{Set: kv("m", "5"), Add: add("m", 1)}, 256, kv("m", "6"))
				}, costs("add", "begin guard set_values recount commit")},
				{"apply that takes reads nothing: the change returns what it deletes", func() error {
					return apply(store.Delta{Take: []string{"flash", "missing"}}, 256, kv("flash", "x"))
				}, costs("begin guard apply commit", "begin guard take_values recount commit")},
				{"apply that sets, deletes, adds and takes", func() error {
					return apply(store.Delta{Set: kv("flash", "y"), Del: []string{"m"}, Add: add("n", 1, "fresh", 2), Take: []string{"flash", "n"}},
						256, kv("flash", "y", "n", "3", "fresh", "2"))
				}, costs("begin guard read_values apply commit", "begin guard read_values delete_values set_values recount commit")},
				{"apply that takes a stored value and adds", func() error {
					if err := apply(store.Delta{Set: kv("flash", "z")}, 0, nil); err != nil {
						return err
					}
					counter.Reset()
					return apply(store.Delta{Add: add("fresh", 1), Take: []string{"flash"}}, 256, kv("fresh", "3", "flash", "z"))
				}, costs("begin guard read_values apply commit", "begin guard read_values take_values set_values recount commit")},
				{"apply of a missing session", func() error {
					_, found, err := s.Apply(ctx, "Amissing", store.Delta{Add: add("n", 1)}, hour, 0)
					if found {
						t.Errorf("Apply: got found=true, want false")
					}
					return err
				}, costs("add", "begin guard rollback")},
				{"apply that meets a value that is not an integer writes nothing", func() error {
					if err := apply(store.Delta{Set: kv("bad", "x")}, 0, nil); err != nil {
						return err
					}
					counter.Reset()
					if _, _, err := s.Apply(ctx, "Aid", store.Delta{Add: add("bad", 1)}, hour, 0); !errors.Is(err, store.ErrNotInteger) {
						t.Errorf("Apply: got error %v, want %v", err, store.ErrNotInteger)
					}
					return nil
				}, costs("add", "begin guard read_values rollback")},
				{"apply beyond MaxKeys is rolled back", func() error {
					if _, _, err := s.Apply(ctx, "Aid", store.Delta{Add: add("new", 1)}, hour, 1); !errors.Is(err, store.ErrTooManyKeys) {
						t.Errorf("Apply: got error %v, want %v", err, store.ErrTooManyKeys)
					}
					return nil
				}, costs("add begin guard read_values apply rollback", "begin guard read_values set_values recount rollback")},
				{"apply that names a metadata key sends nothing", func() error {
					if _, _, err := s.Apply(ctx, "Aid", store.Delta{Take: []string{store.UserKey}}, hour, 0); err == nil {
						t.Errorf("Apply of a Take of %s: got no error, want one", store.UserKey)
					}
					return nil
				}, costs("", "")},
				{"apply with a ttl of zero is a delete", func() error {
					_, found, err := s.Apply(ctx, "Aid", store.Delta{Add: add("n", 1), Take: []string{"n"}}, 0, 0)
					if !found {
						t.Errorf("Apply: got found=false, want true")
					}
					return err
				}, costs("delete", "begin delete drop_values commit")},
			}
			runSteps(t, b, counter, steps)
		})
	}
}

// equalValues reports whether a and b hold the same values, nil and empty
// alike.
func equalValues(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, func(x, y []byte) bool { return string(x) == string(y) })
}

func TestCapabilityStatements(t *testing.T) {
	const hour = time.Hour
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clock := fakeclock.New()
			s, counter := counted(t, b, sqlstore.Config{Now: clock.Now, Retention: hour})
			ctx := t.Context()
			for _, id := range []string{"Aold", "Bexpired", "Clive"} {
				if err := s.Create(ctx, id, kv(store.UserKey, "ann", "n", "1"), hour, 0); err != nil {
					t.Fatal(err)
				}
			}
			steps := []step{
				{"count is one query", func() error { _, err := s.Count(ctx); return err }, costs("count_live", "count_live")},
				{"a page of a list is one query", func() error { _, _, err := s.List(ctx, "", 10); return err }, costs("list", "list")},
				{"peek is one query", func() error { _, _, err := s.Peek(ctx, "Clive"); return err }, costs("peek", "peek")},
				{"a user's sessions are one query", func() error { _, err := s.UserSessions(ctx, "ann"); return err },
					costs("user_sessions", "user_sessions")},
				{"a page of a list is one query, whatever the page", func() error { _, _, err := s.List(ctx, "Aold", 1); return err },
					costs("list", "list")},
				{"reserve without a limit is one statement", func() error { _, err := s.Reserve(ctx, "Dnew", 0); return err },
					costs("reserve", "begin reserve count commit")},
				{"reserve with a limit is a transaction of two", func() error { _, err := s.Reserve(ctx, "Enew", 100); return err },
					costs("begin reserve_lock reserve commit", "begin reserve count reserve_count commit")},
				{"reserve at the limit looks for stale reservations", func() error {
					if ok, err := s.Reserve(ctx, "Fnew", 2); ok || err != nil {
						t.Errorf("Reserve: got %v, %v, want false, nil", ok, err)
					}
					return nil
				}, costs("begin reserve_lock reserved purge_reservations commit", "begin reserve count reserve_count purge_reservations rollback")},
				{"publish is one statement", func() error {
					return s.Publish(ctx, store.Event{Kind: store.Destroyed, ID: "x", Reason: "logout"})
				}, costs("publish", "begin publish publish_event commit")},
				{"remove is one statement", func() error { _, _, err := s.Remove(ctx, "Clive"); return err },
					costs("delete", "begin delete drop_values commit")},
				{"a claim is one statement", func() error {
					clock.Advance(hour + 30*time.Minute)
					_, err := s.ClaimExpired(ctx, 10, time.Minute)
					return err
				}, costs("claim", "begin claim claim_values commit")},
				{"reap is one statement", func() error { return s.Reap(ctx, "Aold") },
					costs("reap", "begin reap reap_values commit")},
				{"a claim that finds sessions past retention forgets them in the same statement", func() error {
					clock.Advance(hour)
					_, err := s.ClaimExpired(ctx, 10, time.Minute)
					return err
				}, costs("claim", "begin claim reap reap_values commit")},
			}
			runSteps(t, b, counter, steps)
		})
	}
}

// reads are the statements that only read.
var reads = map[string]bool{
	"load": true, "read values": true, "taken": true, "reserve count": true, "claim values": true, "count live": true,
	"list": true, "peek": true, "user sessions": true, "events": true, "last event": true,
}

// wantWriteFirst fails the test unless every transaction in stmts begins
// with a statement that writes: on SQLite, a transaction that reads first
// can fail with SQLITE_BUSY when it comes to write (see sqlstore's sqlite).
func wantWriteFirst(t *testing.T, stmts []string) {
	t.Helper()
	for i, s := range stmts {
		if s == "begin" && i+1 < len(stmts) && reads[stmts[i+1]] {
			t.Errorf("a transaction begins with %q, which reads: SQLite can fail it with SQLITE_BUSY when it writes", stmts[i+1])
		}
	}
}
