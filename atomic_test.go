package session_test

import (
	"errors"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/sessiontest"
	"github.com/seed58a3dad2/session/store"
)

// addTo runs Add(key, n) in one request of c and returns its answer.
func addTo(c *client, key string, n int64) (int64, error) {
	var (
		sum int64
		err error
	)
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		sum, err = session.FromContext(r.Context()).Add(key, n)
	})
	return sum, err
}

// storedValues returns what the store holds for the session c's token names.
func storedValues(t *testing.T, e *env, c *client) map[string][]byte {
	t.Helper()
	values, found, err := e.store.Store.Load(t.Context(), tokenID(t, e, c.token), 0)
	if err != nil || !found {
		t.Fatalf("Load: got %v, %v, want found, nil", found, err)
	}
	return values
}

func TestAdd(t *testing.T) {
	t.Run("counts on a new session, then on the stored one, and Get reads it", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		for i, n := range []int64{5, -2, 10} {
			want := []int64{5, 3, 13}[i]
			if got, err := addTo(c, "n", n); err != nil || got != want {
				t.Fatalf("Add(%d): got %d, %v, want %d, nil", n, got, err, want)
			}
		}
		if got := c.get("/get?k=n"); got != "13" {
			t.Fatalf("Get: got %s, want 13", got)
		}
	})

	t.Run("in one request, reads its own sums and goes with the writes before it", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=a&v=1")
		e.store.Calls()
		var got []any
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("b", "x")
			n1, err1 := s.Add("n", 1)
			n2, err2 := s.Add("n", 1)
			v, _, err3 := session.Get[int](s, "n")
			got = []any{n1, err1, n2, err2, v, err3}
		})
		if want := []any{int64(1), nil, int64(2), nil, 2, nil}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		// Each Add is one call; the Get loads (the Adds did not); nothing is
		// left for the commit.
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Apply", "Apply", "Load"}) {
			t.Fatalf("got store calls %v, want Apply, Apply, Load", calls)
		}
		if got := formatValues(storedValues(t, e, c)); got != `{"a": "1", "b": "\"x\"", "n": "2"}` {
			t.Fatalf("stored %s", got)
		}
	})

	t.Run("a write after the add is saved at the commit", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=a&v=1")
		e.store.Calls()
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_, _ = s.Add("n", 1)
			_ = s.Set("b", 2)
		})
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Apply", "Update"}) {
			t.Fatalf("got store calls %v, want Apply, Update", calls)
		}
		if got := formatValues(storedValues(t, e, c)); got != `{"a": "1", "b": "2", "n": "1"}` {
			t.Fatalf("stored %s", got)
		}
	})

	t.Run("a value that is not an integer is refused, and the other writes are kept", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("s", "x")
			_ = s.Set("big", int64(math.MaxInt64))
		})
		var errs []error
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("a", 1)
			_, err1 := s.Add("s", 1)
			_, err2 := s.Add("big", 1)
			errs = []error{err1, err2}
		})
		for _, err := range errs {
			if !errors.Is(err, session.ErrNotInteger) {
				t.Fatalf("got error %v, want ErrNotInteger", err)
			}
		}
		if c.last.Code != http.StatusOK {
			t.Fatalf("got %d, want 200: a refused Add is the handler's to answer", c.last.Code)
		}
		want := `{"a": "1", "big": "` + strconv.FormatInt(math.MaxInt64, 10) + `", "s": "\"x\""}`
		if got := formatValues(storedValues(t, e, c)); got != want {
			t.Fatalf("stored %s, want %s", got, want)
		}
		// The same on a new session, where Add is local.
		c2 := e.client()
		var err error
		c2.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("s", "x")
			_, err = s.Add("s", 1)
		})
		if !errors.Is(err, session.ErrNotInteger) {
			t.Fatalf("Add on a new session: got error %v, want ErrNotInteger", err)
		}
	})

	t.Run("keys are checked as for Set", func(t *testing.T) {
		e := newEnv(t, session.Config{MaxKeys: 2})
		c := e.client()
		c.get("/set?k=a&v=1")
		c.get("/set?k=b&v=1")
		for _, tt := range []struct {
			key  string
			want error
		}{{"", session.ErrInvalidKey}, {"@user", session.ErrInvalidKey}, {"c", session.ErrTooManyKeys}} {
			if _, err := addTo(c, tt.key, 1); !errors.Is(err, tt.want) {
				t.Fatalf("Add(%q): got error %v, want %v", tt.key, err, tt.want)
			}
		}
		if got, err := addTo(c, "a", 1); err != nil || got != 2 {
			t.Fatalf("Add to an existing key at the limit: got %d, %v, want 2, nil", got, err)
		}
	})

	t.Run("on a session that is gone, the sum starts a fresh session", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=n&v=10")
		old := c.token
		if _, err := e.store.Store.Delete(t.Context(), tokenID(t, e, old)); err != nil {
			t.Fatal(err)
		}
		if got, err := addTo(c, "n", 1); err != nil || got != 1 {
			t.Fatalf("Add: got %d, %v, want 1, nil", got, err)
		}
		if c.token == old || c.get("/get?k=n") != "1" {
			t.Fatalf("the client did not get a fresh session holding n=1")
		}
	})

	t.Run("past the Lifetime, the sum starts a fresh session", func(t *testing.T) {
		e := newEnv(t, session.Config{Lifetime: time.Hour, IdleTimeout: 2 * time.Hour})
		c := e.client()
		c.get("/set?k=n&v=10")
		old := c.token
		e.clock.Advance(time.Hour + time.Minute)
		e.store.Calls()
		if got, err := addTo(c, "n", 1); err != nil || got != 1 {
			t.Fatalf("Add: got %d, %v, want 1, nil", got, err)
		}
		// The old session is left to the reaper, which ends it as expired
		// (memstore keeps expired sessions for it).
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Create"}) {
			t.Fatalf("got store calls %v, want Create", calls)
		}
		if c.token == old {
			t.Fatal("the client kept the old token")
		}
	})

	t.Run("after the headers went out: saved at once on the stored session, refused on a new one", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=n&v=1")
		var err error
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, err = session.FromContext(r.Context()).Add("n", 1)
		})
		if err != nil || c.get("/get?k=n") != "2" {
			t.Fatalf("Add after the headers: got error %v and n=%s, want nil and 2", err, c.get("/get?k=n"))
		}
		fresh := e.client()
		fresh.serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, err = session.FromContext(r.Context()).Add("n", 1)
		})
		if !errors.Is(err, session.ErrHeadersSent) {
			t.Fatalf("Add on a new session after the headers: got error %v, want ErrHeadersSent", err)
		}
	})

	t.Run("a store failure fails the request, and is never retried", func(t *testing.T) {
		sw := &switchStore{Store: newEnv(t, session.Config{}).mem}
		asked := 0
		e := newEnv(t, session.Config{Store: sw, OnStoreError: func(*http.Request, string, error) bool {
			asked++
			return true
		}})
		c := e.client()
		c.get("/set?k=n&v=1")
		sw.failed = true
		e.store.Calls()
		w := c.do(http.MethodPost, "/add?k=n&n=1")
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("got %d %s, want 503", w.Code, w.Body)
		}
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Apply"}) || asked != 0 {
			t.Fatalf("got store calls %v and OnStoreError asked %d times, want one Apply and none", calls, asked)
		}
	})

	t.Run("with ProceedAnonymous, a store failure refuses the add and the request goes on", func(t *testing.T) {
		sw := &switchStore{Store: newEnv(t, session.Config{}).mem}
		var reported []error
		e := newEnv(t, session.Config{Store: sw, StoreDown: session.ProceedAnonymous, OnError: func(_ *http.Request, err error) {
			reported = append(reported, err)
		}})
		c := e.client()
		c.get("/set?k=n&v=1")
		sw.failed = true
		var errs []error
		w := c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_, err1 := s.Add("n", 1)
			err2 := s.Set("a", 1)
			errs = []error{err1, err2}
		})
		if w.Code != http.StatusOK || !errors.Is(errs[0], session.ErrStore) || !errors.Is(errs[1], session.ErrStore) {
			t.Fatalf("got %d and errors %v, want 200 and ErrStore twice", w.Code, errs)
		}
		if len(reported) == 0 {
			t.Fatal("OnError heard nothing")
		}
	})

	t.Run("with a login in the same request, the metadata waits for the move", func(t *testing.T) {
		e := newEnv(t, session.Config{MaxUserSessions: 1, UserLimit: session.RefuseLogin})
		e.client().get("/login?u=ann")
		c := e.client()
		c.get("/set?k=n&v=1")
		id := tokenID(t, e, c.token)
		var sum int64
		w := c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if err := s.Login("ann", ""); err != nil {
				t.Errorf("Login: %v", err)
			}
			sum, _ = s.Add("n", 1)
		})
		if w.Code != http.StatusForbidden || sum != 2 {
			t.Fatalf("got %d and sum %d, want 403 (ann is at her limit) and 2", w.Code, sum)
		}
		// The session the planted ID names was never logged in.
		values, found, err := e.mem.Load(t.Context(), id, 0)
		if err != nil || !found || values[store.UserKey] != nil {
			t.Fatalf("the old session: got %q, %v, %v, want no user", values[store.UserKey], found, err)
		}
	})

	t.Run("200 concurrent requests from separate connections count exactly 200 on memstore", func(t *testing.T) {
		sessiontest.ConcurrentAdds(t, newEnv(t, session.Config{}).m, 200)
	})
}

func TestTake(t *testing.T) {
	t.Run("reads and removes, once", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=flash&v=\"saved\"")
		c.get("/set?k=a&v=1")
		e.store.Calls()
		if got := c.get("/take?k=flash"); got != `"saved"` {
			t.Fatalf("Take: got %s, want \"saved\"", got)
		}
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Apply"}) {
			t.Fatalf("got store calls %v, want one Apply", calls)
		}
		if w := c.do(http.MethodGet, "/take?k=flash"); w.Code != http.StatusNotFound {
			t.Fatalf("second Take: got %d %s, want 404", w.Code, w.Body)
		}
		if got := c.get("/get?k=a"); got != "1" {
			t.Fatalf("the other key: got %s, want 1", got)
		}
	})

	t.Run("costs no call when the loaded session has no such key, or this request set it", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=a&v=1")
		e.store.Calls()
		var got []any
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_, _, _ = session.Get[int](s, "a")
			_, ok1, err1 := session.Take[string](s, "flash")
			_ = s.Set("flash", "now")
			v, ok2, err2 := session.Take[string](s, "flash")
			got = []any{ok1, err1, v, ok2, err2}
		})
		if want := []any{false, nil, "now", true, nil}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		// Set then Take is a Delete: the commit removes a value another
		// request may have stored meanwhile, as the Set would have
		// replaced it.
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Load", "Update"}) {
			t.Fatalf("got store calls %v, want the Load and the commit's Update", calls)
		}
	})

	t.Run("a value set then taken in one request removes the stored one", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=flash&v=\"old\"")
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("flash", "new")
			_, _, _ = session.Take[string](s, "flash")
		})
		if w := c.do(http.MethodGet, "/take?k=flash"); w.Code != http.StatusNotFound {
			t.Fatalf("Take after: got %d %s, want 404", w.Code, w.Body)
		}
	})

	t.Run("a value that cannot be decoded is removed and reported", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=a&v=1")
		if _, err := e.mem.Update(t.Context(), tokenID(t, e, c.token), storeDelta("flash", []byte("{not json")), time.Hour, 0); err != nil {
			t.Fatal(err)
		}
		var err error
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			_, _, err = session.Take[string](session.FromContext(r.Context()), "flash")
			w.WriteHeader(http.StatusNoContent)
		})
		if !errors.Is(err, session.ErrDecode) {
			t.Fatalf("Take: got error %v, want ErrDecode", err)
		}
		if got := formatValues(storedValues(t, e, c)); got != `{"a": "1"}` {
			t.Fatalf("stored %s, want only a", got)
		}
	})

	t.Run("of concurrent requests from separate connections, exactly one gets the flash", func(t *testing.T) {
		sessiontest.ConcurrentTakes(t, newEnv(t, session.Config{}).m, 5, 20)
	})

	t.Run("a flash set by a request that redirects is shown once after it", func(t *testing.T) {
		sessiontest.FlashAcrossRedirect(t, newEnv(t, session.Config{}).m)
	})
}

// formatValues prints stored values with sorted keys, metadata included.
func formatValues(values map[string][]byte) string {
	keys := slices.Sorted(maps.Keys(values))
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ": "...)
		b = strconv.AppendQuote(b, string(values[k]))
	}
	return string(append(b, '}'))
}
