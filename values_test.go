package session_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/seed58a3dad2/session"
)

// On memstore, a store.Lender, every env checks at its end that no View it
// lent was written into (countingLender.check). These tests make each kind
// of change on lent values, and check that the request sees it at once,
// that the store gets it at the commit, and that the other lent values stay
// as they were.
func TestLentValues(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(s *session.Session) error
		keys   string // the keys the request and then the store hold after it
		// The user the request sees after it, and the one the store
		// holds: a Clear keeps the metadata, in the store
		// (store.Delta.Clear) as in the request's own view.
		reqUser, user string
	}{
		{"Set of a new key", func(s *session.Session) error { return s.Set("c", 3) }, "a,b,c", "ann", "ann"},
		{"Set of a key there", func(s *session.Session) error { return s.Set("a", 10) }, "a,b", "ann", "ann"},
		{"Delete", func(s *session.Session) error { s.Delete("a"); return nil }, "b", "ann", "ann"},
		{"Delete of a key not there", func(s *session.Session) error { s.Delete("x"); return nil }, "a,b", "ann", "ann"},
		{"Clear", func(s *session.Session) error { s.Clear(); return nil }, "", "ann", "ann"},
		{"Add", func(s *session.Session) error { _, err := s.Add("a", 1); return err }, "a,b", "ann", "ann"},
		{"Take", func(s *session.Session) error {
			var v int
			if ok, err := s.Take("b", &v); !ok || err != nil || v != 2 {
				return errors.New("Take did not take b=2")
			}
			return nil
		}, "a", "ann", "ann"},
		{"Login", func(s *session.Session) error { return s.Login("bob", "") }, "a,b", "bob", "bob"},
		{"Renew", func(s *session.Session) error { return s.Renew() }, "a,b", "ann", "ann"},
		{"Destroy", func(s *session.Session) error { s.Destroy(); return nil }, "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, session.Config{})
			c := e.client()
			c.get("/set?k=a&v=1")
			c.get("/set?k=b&v=2")
			c.get("/login?u=ann&label=Firefox")
			c.serve(func(w http.ResponseWriter, r *http.Request) {
				s := session.FromContext(r.Context())
				if keys, err := s.Keys(); err != nil || strings.Join(keys, ",") != "a,b" {
					t.Fatalf("Keys before the change: got %q, %v, want a,b", keys, err)
				}
				if err := tt.change(s); err != nil {
					t.Fatalf("the change: %v", err)
				}
				if keys, err := s.Keys(); err != nil || strings.Join(keys, ",") != tt.keys {
					t.Errorf("Keys after the change, in the request: got %q, %v, want %q", keys, err, tt.keys)
				}
				if user, err := s.User(); err != nil || user != tt.reqUser {
					t.Errorf("User after the change, in the request: got %q, %v, want %q", user, err, tt.reqUser)
				}
			})
			if got := c.get("/keys"); got != tt.keys {
				t.Errorf("keys stored: got %q, want %q", got, tt.keys)
			}
			if got := c.get("/user"); got != tt.user {
				t.Errorf("user stored: got %q, want %q", got, tt.user)
			}
			if e.lender == nil || e.lender.lends() == 0 {
				t.Errorf("memstore lent nothing: the requests loaded copies")
			}
		})
	}

	t.Run("MaxKeys counts the lent values", func(t *testing.T) {
		e := newEnv(t, session.Config{MaxKeys: 2})
		c := e.client()
		c.get("/set?k=a&v=1")
		c.get("/set?k=b&v=2")
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if _, _, err := session.Get[int](s, "a"); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if err := s.Set("c", 3); !errors.Is(err, session.ErrTooManyKeys) {
				t.Errorf("Set of a third key: got %v, want ErrTooManyKeys", err)
			}
			if err := s.Set("a", 10); err != nil {
				t.Errorf("Set of a key there: got %v, want nil", err)
			}
		})
		if got := c.get("/keys"); got != "a,b" {
			t.Errorf("keys stored: got %q, want a,b", got)
		}
	})
}

// TestLentReadsThenConcurrentChanges: request A reads its session (memstore
// lends the values), and while it runs request B changes the same session
// (Set, Delete, Add, Take). A still reads what it read first, then changes the
// session itself: both requests' changes must land, since each saves a
// Delta, never the whole map it read. The env's check then fails the test
// if anything wrote into a lent View.
func TestLentReadsThenConcurrentChanges(t *testing.T) {
	e := newEnv(t, session.Config{})
	a := e.client()
	a.get("/set?k=a&v=1")
	a.get("/set?k=b&v=1")
	a.get("/set?k=x&v=1")
	a.get("/set?k=flash&v=%22hi%22")
	a.get("/add?k=n&n=1")
	b := &client{e: e, token: a.token}

	read, changed := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		a.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if v, _, err := session.Get[int](s, "b"); err != nil || v != 1 {
				t.Errorf("A: Get b: got %v, %v, want 1", v, err)
			}
			close(read)
			<-changed
			// What A read stays as it was, whatever B did.
			if v, _, err := session.Get[int](s, "x"); err != nil || v != 1 {
				t.Errorf("A: Get x after B: got %v, %v, want 1 as lent", v, err)
			}
			if err := s.Set("a", 2); err != nil {
				t.Errorf("A: Set: %v", err)
			}
			if n, err := s.Add("n", 10); err != nil || n != 12 {
				t.Errorf("A: Add: got %v, %v, want 12 (B added 1)", n, err)
			}
		})
	})
	<-read
	b.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if _, _, err := session.Get[int](s, "a"); err != nil {
			t.Errorf("B: Get: %v", err)
		}
		if err := s.Set("b", 2); err != nil {
			t.Errorf("B: Set: %v", err)
		}
		s.Delete("x")
		if _, err := s.Add("n", 1); err != nil {
			t.Errorf("B: Add: %v", err)
		}
		if msg, ok, err := session.Take[string](s, "flash"); err != nil || !ok || msg != "hi" {
			t.Errorf("B: Take: got %q, %v, %v", msg, ok, err)
		}
	})
	close(changed)
	wg.Wait()
	for k, want := range map[string]string{"a": "2", "b": "2", "x": "absent", "n": "12", "flash": "absent"} {
		if got := b.get("/get?k=" + k); got != want {
			t.Errorf("stored %s: got %q, want %q", k, got, want)
		}
	}
}

// TestGetRawMessageIsTheHandlers: a handler may change what Get decoded,
// a json.RawMessage or []byte included, without changing the session.
func TestGetRawMessageIsTheHandlers(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get(`/set?k=obj&v={"a":1}`)
	for range 2 {
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			raw, ok, err := session.Get[json.RawMessage](s, "obj")
			if err != nil || !ok || string(raw) != `{"a":1}` {
				t.Fatalf("Get: got %s, %v, %v", raw, ok, err)
			}
			for i := range raw {
				raw[i] = ' '
			}
			var again json.RawMessage
			if _, err := s.Get("obj", &again); err != nil || string(again) != `{"a":1}` {
				t.Errorf("Get after changing the first: got %s, %v", again, err)
			}
		})
	}
	if got := c.get("/get?k=obj"); got != `{"a":1}` {
		t.Errorf("stored: got %q", got)
	}
	if e.lender == nil || e.lender.lends() == 0 {
		t.Errorf("memstore lent nothing")
	}
}

// TestLateChangeToLentValues: a handler that read its session (lent), wrote
// its response, and then changes the session has the change saved when it
// returns (finish), with the keys it did not touch kept.
func TestLateChangeToLentValues(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} { // more than a slice holds
		c.get("/set?k=" + k + "&v=1")
	}
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if keys, err := s.Keys(); err != nil || len(keys) != 9 {
			t.Fatalf("Keys: got %q, %v", keys, err)
		}
		w.WriteHeader(http.StatusOK)
		if err := s.Set("a", 2); err != nil {
			t.Errorf("late Set: %v", err)
		}
		s.Delete("b")
		if _, err := s.Add("z", 5); err != nil {
			t.Errorf("late Add: %v", err)
		}
	})
	for k, want := range map[string]string{"a": "2", "b": "absent", "c": "1", "i": "1", "z": "5"} {
		if got := c.get("/get?k=" + k); got != want {
			t.Errorf("stored %s: got %q, want %q", k, got, want)
		}
	}
}
