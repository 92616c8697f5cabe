package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/sessiontest"
	"github.com/seed58a3dad2/session/store"
)

// FuzzValueDecoding stores arbitrary bytes as a value, as a service not
// written in Go might, and reads them back: the session decodes exactly what
// encoding/json decodes, and reports an error where it fails; never a panic.
func FuzzValueDecoding(f *testing.F) {
	for _, s := range []string{`"text"`, `42`, `{"a":[1,2]}`, `null`, `{`, "\xff\xfe", ``, `"a\u00e9"`, `-0`, `1e400`,
		`true `, ` 7`, `1e3`, `1.0`, `01`, `-`, `9223372036854775808`, `128`, `-1`, `"\u0000"`, `"\ud83d\ude00"`, `"\ud800"`, `"\/"`, "\"\xff\"", `"5"`, `True`} {
		f.Add([]byte(s))
	}
	e := newEnv(f, session.Config{})
	c := e.client()
	c.get("/set?k=a&v=1")
	id := tokenID(f, e, c.token)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := e.mem.Update(t.Context(), id, storeDelta("v", raw), 1<<40, 0); err != nil {
			t.Fatal(err)
		}
		var want any
		wantErr := json.Unmarshal(raw, &want)
		te := *e
		te.t = t // helpers inside the target report to t, not f
		c := &client{e: &te, token: c.token}
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			got, ok, err := session.Get[any](s, "v")
			if (err == nil) != (wantErr == nil) || (err == nil && (!ok || !reflect.DeepEqual(got, want))) {
				t.Errorf("Get[any](%q): got %v %v %v, want %v %v", raw, got, ok, err, want, wantErr)
			}
			if err != nil && !errors.Is(err, session.ErrDecode) {
				t.Errorf("Get[any](%q): got error %v, want one wrapping ErrDecode", raw, err)
			}
			var wantS string
			errS := json.Unmarshal(raw, &wantS)
			gotS, _, err := session.Get[string](s, "v")
			if (err == nil) != (errS == nil) || gotS != wantS {
				t.Errorf("Get[string](%q): got %q %v, want %q %v", raw, gotS, err, wantS, errS)
			}
			// Get[T] decodes plain strings, ints and bools itself: each
			// scalar type as encoding/json would, errors wrapping ErrDecode.
			checkGet[int](t, s, raw)
			checkGet[bool](t, s, raw)
			checkGet[int8](t, s, raw)
			checkGet[uint](t, s, raw)
			checkGet[float64](t, s, raw)
			_, _, _ = session.Get[map[string][]float64](s, "v")
			_, _, _ = session.Get[[]byte](s, "v")
			fmt.Fprint(w, "handled") // errors answered: the request lives on
		})
		if c.last.Code != http.StatusOK {
			t.Fatalf("got %d", c.last.Code)
		}
	})
}

// checkGet fails t unless Get[T] of the value "v", whose bytes are raw,
// answers as json.Unmarshal into a T does.
func checkGet[T comparable](t *testing.T, s *session.Session, raw []byte) {
	t.Helper()
	var want T
	wantErr := json.Unmarshal(raw, &want)
	got, ok, err := session.Get[T](s, "v")
	if (err == nil) != (wantErr == nil) || got != want || ok != (err == nil) {
		t.Errorf("Get[%T](%q): got %v, %v, %v, want %v, %v", want, raw, got, ok, err, want, wantErr)
	}
	if err != nil && !errors.Is(err, session.ErrDecode) {
		t.Errorf("Get[%T](%q): got error %v, want one wrapping ErrDecode", want, raw, err)
	}
}

func TestSessionValues(t *testing.T) {
	e := newEnv(t, session.Config{})

	t.Run("typed reads decode what Set stored", func(t *testing.T) {
		type cart struct {
			Items []string `json:"items"`
			Total float64  `json:"total"`
		}
		c := e.client()
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			for k, v := range map[string]any{"s": "text", "n": 42, "b": true, "cart": cart{[]string{"x"}, 9.5}} {
				if err := s.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
		})
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if v, ok, err := session.Get[string](s, "s"); v != "text" || !ok || err != nil {
				t.Errorf("s: got %q %v %v", v, ok, err)
			}
			if v, ok, err := session.Get[int](s, "n"); v != 42 || !ok || err != nil {
				t.Errorf("n: got %v %v %v", v, ok, err)
			}
			if v, ok, err := session.Get[bool](s, "b"); !v || !ok || err != nil {
				t.Errorf("b: got %v %v %v", v, ok, err)
			}
			if v, ok, err := session.Get[cart](s, "cart"); v.Total != 9.5 || len(v.Items) != 1 || !ok || err != nil {
				t.Errorf("cart: got %+v %v %v", v, ok, err)
			}
			if v, ok, err := session.Get[string](s, "absent"); v != "" || ok || err != nil {
				t.Errorf("absent: got %q %v %v, want zero, false, nil", v, ok, err)
			}
			if _, _, err := session.Get[int](s, "s"); err == nil {
				t.Errorf("reading a string as an int: got no error")
			}
			if keys, err := s.Keys(); strings.Join(keys, ",") != "b,cart,n,s" || err != nil {
				t.Errorf("Keys: got %v %v", keys, err)
			}
		})
	})

	t.Run("Set encodes at once: later changes to the value do not leak in", func(t *testing.T) {
		c := e.client()
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			v := []string{"before"}
			_ = s.Set("list", v)
			v[0] = "after"
			got, _, _ := session.Get[[]string](s, "list")
			if got[0] != "before" {
				t.Errorf("got %q, want before", got[0])
			}
		})
	})

	t.Run("Set reports values the codec cannot encode", func(t *testing.T) {
		e.client().serve(func(w http.ResponseWriter, r *http.Request) {
			if err := session.FromContext(r.Context()).Set("f", func() {}); err == nil {
				t.Error("got no error for a func value")
			}
		})
	})

	t.Run("Delete and Clear remove keys but keep the session", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		c.get("/set?k=b&v=2")
		c.get("/set?k=c&v=3")
		tok := c.token
		c.get("/del?k=a")
		if got := c.get("/keys"); got != "b,c" {
			t.Fatalf("after Delete got keys %q, want b,c", got)
		}
		c.get("/clear")
		if got := c.get("/keys"); got != "" {
			t.Fatalf("after Clear got keys %q, want none", got)
		}
		if got := c.get("/isnew"); got != "false" || c.token != tok {
			t.Fatalf("after Clear: IsNew %q, token changed %v; want the same live session", got, c.token != tok)
		}
	})

	t.Run("a new session is stored only once it holds a value", func(t *testing.T) {
		e.store.Calls()
		c := e.client()
		w := c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if v, ok, err := session.Get[string](s, "x"); ok || err != nil || v != "" {
				t.Errorf("got %q %v %v", v, ok, err)
			}
			if s.ID() != "" || !s.ExpiresAt().IsZero() {
				t.Errorf("got ID %q expiry %v, want none before a value is set", s.ID(), s.ExpiresAt())
			}
		})
		if calls := e.store.Calls(); len(calls) != 0 || len(w.Result().Cookies()) != 0 {
			t.Fatalf("got store calls %v and cookies %v, want none", calls, w.Result().Cookies())
		}
	})

	t.Run("IDs are random, 128 bits, and never repeat", func(t *testing.T) {
		seen := map[string]bool{}
		for range 200 {
			var id string
			e.client().serve(func(w http.ResponseWriter, r *http.Request) {
				s := session.FromContext(r.Context())
				_ = s.Set("a", 1)
				id = s.ID()
			})
			if len(id) != 22 || seen[id] {
				t.Fatalf("got ID %q (seen before: %v), want 22 base64url characters, unique", id, seen[id])
			}
			seen[id] = true
		}
	})
}

func TestDestroy(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=user&v=\"ann\"")
	old := c.token
	e.store.Calls()
	w := c.do(http.MethodPost, "/close")

	t.Run("the close handler answers 204, deletes the session in one call and expires the cookie", func(t *testing.T) {
		if w.Code != http.StatusNoContent {
			t.Fatalf("got %d, want 204", w.Code)
		}
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Delete"}) {
			t.Fatalf("got calls %v, want [Delete]", calls)
		}
		if ck := cookieOf(w, "session"); ck == nil || ck.MaxAge >= 0 {
			t.Fatalf("got cookie %v, want it expired", ck)
		}
	})
	t.Run("the old token gets a fresh session, never the old ID", func(t *testing.T) {
		c.token = old
		if got := c.get("/get?k=user"); got != "absent" {
			t.Fatalf("got %q, want absent", got)
		}
		if got := (&client{e: e, token: old}).get("/isnew"); got != "true" {
			t.Fatalf("IsNew got %q, want true", got)
		}
		c.token = old
		c.get("/set?k=x&v=1")
		if c.token == old || c.token == "" {
			t.Fatal("a write with a dead token did not get a fresh token")
		}
		var id string
		c.serve(func(w http.ResponseWriter, r *http.Request) { id = session.FromContext(r.Context()).ID() })
		oldID := tokenID(t, e, old)
		if id == oldID {
			t.Fatalf("the session was re-created under the old ID %q", id)
		}
	})
	t.Run("a value set after Destroy starts a new session", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		before := c.token
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			s.Destroy()
			_ = s.Set("flash", "bye")
		})
		if c.token == before || c.get("/get?k=flash") != `"bye"` || c.get("/get?k=a") != "absent" {
			t.Fatalf("got token changed %v, flash %q, a %q", c.token != before, c.get("/get?k=flash"), c.get("/get?k=a"))
		}
	})
	t.Run("closing without a session is a 204 too", func(t *testing.T) {
		if w := e.client().do(http.MethodPost, "/close"); w.Code != http.StatusNoContent {
			t.Fatalf("got %d", w.Code)
		}
		if w := e.client().do(http.MethodGet, "/close"); w.Code != http.StatusMethodNotAllowed {
			t.Fatalf("GET got %d, want 405", w.Code)
		}
	})
}

func TestRenew(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=cart&v=3")
	old := c.token
	oldID := tokenID(t, e, old)
	c.get("/renew")

	t.Run("the session gets a new ID and keeps its values", func(t *testing.T) {
		if c.token == old || tokenID(t, e, c.token) == oldID {
			t.Fatal("Renew kept the ID")
		}
		if got := c.get("/get?k=cart"); got != "3" {
			t.Fatalf("got %q, want 3", got)
		}
	})
	t.Run("the old ID is dead (session fixation)", func(t *testing.T) {
		if _, found, _ := e.mem.Load(context.Background(), oldID, 0); found {
			t.Fatal("the old session is still stored")
		}
		attacker := &client{e: e, token: old}
		if got := attacker.get("/get?k=cart"); got != "absent" {
			t.Fatalf("the old token still reads %q", got)
		}
	})
}

// TestRenewIsAtomic puts a second request of the same client right before
// and right after the store step of a login's Renew: whichever side of the
// move it lands on, nothing it did may be lost, and nothing a logout ended
// may come back.
func TestRenewIsAtomic(t *testing.T) {
	for _, at := range []string{"before", "after"} {
		t.Run("a write with the old token "+at+" the move is kept in a session the client holds", func(t *testing.T) {
			e := newEnv(t, session.Config{})
			hook := &hookStore{Store: e.store.Store}
			e.store.Store = hook
			login := e.client()
			login.get("/set?k=cart&v=3")
			writer := &client{e: e, token: login.token} // another tab
			write := func(string) {
				if w := writer.do(http.MethodPost, "/set?k=w&v=1"); w.Code != http.StatusOK {
					t.Fatalf("the write got %d", w.Code)
				}
			}
			if at == "before" {
				hook.before = write
			} else {
				hook.after = write
			}
			login.get("/renew")
			// The write must be readable with the token the login got, or
			// with the one its own response gave.
			kept := false
			for _, c := range []*client{login, writer} {
				if c.token != "" && (&client{e: e, token: c.token}).get("/get?k=w") == "1" {
					kept = true
				}
			}
			if !kept {
				t.Fatal("a write answered 200 is in no session the client holds")
			}
		})
	}

	t.Run("a logout with the old token during a login never brings the logged-out values back", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		hook := &hookStore{Store: e.store.Store}
		e.store.Store = hook
		login := e.client()
		login.get("/set?k=cart&v=3")
		other := &client{e: e, token: login.token}
		hook.before = func(string) {
			if w := other.do(http.MethodPost, "/close"); w.Code != http.StatusNoContent {
				t.Fatalf("the logout got %d", w.Code)
			}
		}
		login.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if err := s.Renew(); err != nil {
				t.Fatalf("Renew: %v", err)
			}
			if err := s.Set("user", "ann"); err != nil {
				t.Fatalf("Set: %v", err)
			}
		})
		if login.token == "" {
			t.Fatal("the login's own value was lost")
		}
		if got := login.get("/get?k=cart"); got != "absent" {
			t.Fatalf("after a logout, the renewed session has cart=%s from the logged-out one", got)
		}
		if got := login.get("/get?k=user"); got != `"ann"` {
			t.Fatalf("user: got %s, want the login's own value", got)
		}
	})

	t.Run("Renew costs no store call; the commit makes one move", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/set?k=cart&v=3")
		e.store.Calls()
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			if err := session.FromContext(r.Context()).Renew(); err != nil {
				t.Fatalf("Renew: %v", err)
			}
			if calls := e.store.Calls(); len(calls) != 0 {
				t.Errorf("Renew made store calls %v, want none", calls)
			}
		})
		if calls := e.store.Calls(); !slices.Equal(calls, []string{"Move"}) {
			t.Errorf("the commit made store calls %v, want [Move]", calls)
		}
	})

	t.Run("a renewed ID keeps the first character of the old one", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		for range 20 {
			c := e.client()
			c.get("/set?k=cart&v=3")
			old := tokenID(t, e, c.token)
			c.get("/renew")
			if id := tokenID(t, e, c.token); id == old || id[0] != old[0] || len(id) != len(old) {
				t.Fatalf("renewed %q to %q, want a new ID of the same length starting with %q", old, id, old[:1])
			}
		}
	})
}

func TestLimits(t *testing.T) {
	e := newEnv(t, session.Config{MaxKeyLength: 8, MaxValueSize: 16, MaxKeys: 3})
	set := func(s *session.Session, k string, v any) error { return s.Set(k, v) }
	tests := []struct {
		name string
		key  string
		v    any
		want error
	}{
		{"an empty key is refused", "", 1, session.ErrInvalidKey},
		{"a key over MaxKeyLength is refused", "123456789", 1, session.ErrInvalidKey},
		{"keys starting with @ are reserved", "@created", 1, session.ErrInvalidKey},
		{"a value over MaxValueSize is refused", "k", strings.Repeat("x", 20), session.ErrValueTooLarge},
		{"a value at the limits is accepted", "12345678", strings.Repeat("x", 14), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.client().serve(func(w http.ResponseWriter, r *http.Request) {
				if err := set(session.FromContext(r.Context()), tt.key, tt.v); !errors.Is(err, tt.want) {
					t.Errorf("got %v, want %v", err, tt.want)
				}
			})
		})
	}
	t.Run("Set refuses a fourth key in a loaded session with ErrTooManyKeys", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		c.get("/set?k=b&v=1")
		c.get("/set?k=c&v=1")
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if keys, _ := s.Keys(); len(keys) != 3 {
				t.Fatalf("got %d keys, want 3", len(keys))
			}
			if err := s.Set("d", 1); !errors.Is(err, session.ErrTooManyKeys) {
				t.Errorf("got %v, want ErrTooManyKeys", err)
			}
			if err := s.Set("a", 2); err != nil {
				t.Errorf("replacing a key: got %v", err)
			}
		})
		if got := c.get("/get?k=a"); got != "2" {
			t.Fatalf("got a=%q, want 2", got)
		}
	})
	t.Run("a write-only request over MaxKeys is refused by the store, with 413 and nothing written", func(t *testing.T) {
		c := e.client()
		c.get("/set?k=a&v=1")
		c.get("/set?k=b&v=1")
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: "session", Value: c.token})
		w := httptest.NewRecorder()
		e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("c", 1)
			_ = s.Set("d", 1)
			w.Write([]byte("done"))
		})).ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge || strings.Contains(w.Body.String(), "done") {
			t.Fatalf("got %d %q, want 413 instead of the handler's answer", w.Code, w.Body)
		}
		if got := c.get("/keys"); got != "a,b" {
			t.Fatalf("got keys %q, want a,b unchanged", got)
		}
	})
	t.Run("the error handler sees the store's ErrTooManyKeys, which is the package's", func(t *testing.T) {
		var seen error
		e := newEnv(t, session.Config{MaxKeys: 1, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			seen = err
			session.DefaultErrorHandler(w, r, err)
		}})
		c := e.client()
		c.get("/set?k=a&v=1")
		c.serve(func(w http.ResponseWriter, r *http.Request) { _ = session.FromContext(r.Context()).Set("b", 1) })
		if !errors.Is(seen, store.ErrTooManyKeys) || !errors.Is(seen, session.ErrTooManyKeys) {
			t.Fatalf("got %v", seen)
		}
	})
}

func TestClearDoesNotHideAGoneSession(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=a&v=1")
	if _, err := e.mem.Delete(context.Background(), tokenID(t, e, c.token)); err != nil {
		t.Fatal(err)
	}
	clearing := e.m.Handler(func() http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			session.FromContext(r.Context()).Clear()
			e.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("in")) })).ServeHTTP(w, r)
		})
	}())
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: c.token})
	w := httptest.NewRecorder()
	clearing.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "session_expired") {
		t.Fatalf("got %d %s, want 401 session_expired", w.Code, w.Body)
	}
}

// TestUndecodableValue plants bytes the codec cannot decode, as an older
// version of the application or another service might have stored them.
// TestUndecodableValuesMemstore plants the bytes with the store's own
// Update, which stores them as they are: memstore has no other door.
func TestUndecodableValuesMemstore(t *testing.T) {
	e := newEnv(t, session.Config{})
	sessiontest.UndecodableValues(t, e.m, func(t *testing.T, id, key string, raw []byte) {
		if _, err := e.mem.Update(t.Context(), id, storeDelta(key, raw), time.Hour, 0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUndecodableValue(t *testing.T) {
	plant := func(t *testing.T, e *env, c *client) {
		t.Helper()
		c.get("/set?k=n&v=1")
		id := tokenID(t, e, c.token)
		if _, err := e.mem.Update(t.Context(), id, storeDelta("user", []byte("{not json")), time.Hour, 0); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a handler that returns on the error gets the ErrorHandler's 500, never an empty 200", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		plant(t, e, c)
		w := c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("n", 2) // a change the failed request must not save
			if _, _, err := session.Get[string](s, "user"); err != nil {
				return // the README's idiom
			}
			fmt.Fprint(w, "unreachable")
		})
		if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "cannot be read") {
			t.Fatalf("got %d %q, want 500 saying a value cannot be read", w.Code, w.Body)
		}
		if got := c.get("/get?k=n"); got != "1" {
			t.Fatalf("n: got %s, want 1: the failed request's change was saved", got)
		}
	})

	t.Run("the error wraps ErrDecode and the session's other keys still read", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		plant(t, e, c)
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if _, _, err := session.Get[string](s, "user"); !errors.Is(err, session.ErrDecode) || errors.Is(err, session.ErrStore) {
				t.Errorf("Get: got error %v, want one wrapping ErrDecode and not ErrStore", err)
			}
			if n, ok, err := session.Get[int](s, "n"); n != 1 || !ok || err != nil {
				t.Errorf("Get n: got %v %v %v, want 1 true nil", n, ok, err)
			}
			fmt.Fprint(w, "handled")
		})
		if c.last.Code != http.StatusOK {
			t.Fatalf("a handler that answered got %d, want its own 200", c.last.Code)
		}
	})

	t.Run("Set or Delete of the key repairs the session", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		c := e.client()
		plant(t, e, c)
		c.get("/del?k=user")
		if got := c.get("/get?k=user"); got != "absent" {
			t.Fatalf("after Delete got %s, want absent", got)
		}
		plant(t, e, c)
		c.get(`/set?k=user&v="ann"`)
		if got := c.get("/get?k=user"); got != `"ann"` {
			t.Fatalf("after Set got %s, want \"ann\"", got)
		}
	})
}

// TestExpiresAtAfterRenewIsTheExpiryTheResponseCarries: a login handler
// answers the expiry with its body (the example's login does:
// {"user":..,"expires":..}). After Renew the commit's move always sets a
// fresh expiry and issues a token saying so, as it does for a new session,
// whose ExpiresAt already says so; a renewed one reports the old token's
// expiry instead, up to IdleTimeout-TouchInterval short of the header.
func TestExpiresAtAfterRenewIsTheExpiryTheResponseCarries(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=cart&v=3")
	e.clock.Advance(10 * time.Minute)
	var got time.Time
	w := c.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if err := s.Renew(); err != nil {
			t.Fatal(err)
		}
		_ = s.Set("user", "ann")
		got = s.ExpiresAt()
		w.WriteHeader(http.StatusOK)
	})
	if want := w.Header().Get(session.HeaderExpires); expiresHeader(got) != want {
		t.Fatalf("ExpiresAt after Renew: got %s, want %s, the Session-Expires of the same response", expiresHeader(got), want)
	}
}

// TestARequestInFlightDuringALoginDoesNotLogTheBrowserOut: a browser has one
// cookie jar. A page polls (or loads an API call) while the user logs in:
// the poll left with the old cookie, the login's response sets the new
// one, then the poll's response arrives. The poll only read, yet finding
// the old ID gone (moved by the login) its response expires the cookie:
// the browser drops the token the login just gave it, and the user is
// logged out by their own page. TestRenewIsAtomic checks each response on
// its own; a browser applies them in turn.
func TestARequestInFlightDuringALoginDoesNotLogTheBrowserOut(t *testing.T) {
	e := newEnv(t, session.Config{})
	browser := e.client()
	browser.get("/set?k=cart&v=3")
	inFlight := browser.token // the poll's request carries the old cookie
	browser.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if err := s.Renew(); err != nil {
			t.Fatal(err)
		}
		_ = s.Set("user", "ann")
	})
	poll := (&client{e: e, token: inFlight}).do(http.MethodGet, "/get?k=cart")
	if ck := cookieOf(poll, e.m.CookieName()); ck != nil { // its response comes last: the jar applies it
		browser.token = ck.Value
		if ck.MaxAge < 0 {
			browser.token = ""
		}
	}
	if got := browser.get("/get?k=user"); got != `"ann"` {
		t.Fatalf("after the poll's response (Set-Cookie %q) the browser's session has user=%s, want \"ann\": the login was undone", poll.Header().Values("Set-Cookie"), got)
	}
}
