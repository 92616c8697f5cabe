package session_test

import (
	"errors"
	"net/http"
	"strings"
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
		// holds: a Clear keeps the metadata in the store
		// (store.Delta.Clear), the request's own view drops it.
		reqUser, user string
	}{
		{"Set of a new key", func(s *session.Session) error { return s.Set("c", 3) }, "a,b,c", "ann", "ann"},
		{"Set of a key there", func(s *session.Session) error { return s.Set("a", 10) }, "a,b", "ann", "ann"},
		{"Delete", func(s *session.Session) error { s.Delete("a"); return nil }, "b", "ann", "ann"},
		{"Delete of a key not there", func(s *session.Session) error { s.Delete("x"); return nil }, "a,b", "ann", "ann"},
		{"Clear", func(s *session.Session) error { s.Clear(); return nil }, "", "", "ann"},
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
