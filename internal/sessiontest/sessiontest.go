// Package sessiontest holds scenarios that hold a session.Manager to its
// promises through real HTTP connections, whatever its store: the tests of
// the root package run them on memstore and Redis, those of sqlstore on
// SQLite and PostgreSQL, so that every store is held to the same ones
// without the root package's tests importing a SQL driver. Besides the
// scenarios of this file: races (races.go), a store's server failing and
// coming back (outage.go), and an application server stopping (restart.go).
package sessiontest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seed58a3dad2/session"
)

// routes serves, through m's middleware:
//
//	POST /add?k=&n=   Session.Add, answering the sum; on a store failure
//	                  it writes nothing, for the ErrorHandler
//	POST /set?k=&v=   Session.Set of the string v
//	POST /flash?v=    Set "flash" to v, then 303 to /show
//	GET  /show        Take "flash", answering it or "" when there is none
//	GET  /get?k=      Get, answering the value as JSON or "absent"; on an
//	                  error it writes nothing, for the ErrorHandler
//	POST /del?k=      Session.Delete
//	GET  /id          the session's ID, for a test to plant values
//	GET  /handle      the session's handle, for Manager.Destroy
//	POST /seedset?k=&v=  Get "seed", then Set k to v: a read, then a write
//	POST /renew       Session.Renew (what a login does)
//	POST /logout      Manager.CloseHandler
//	POST /destroy?h=  Manager.Destroy of the handle h, answering whether it
//	                  found the session: "found" or "missed"
func routes(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	mux.HandleFunc("POST /add", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum, err := session.FromContext(r.Context()).Add(r.URL.Query().Get("k"), n)
		switch {
		case errors.Is(err, session.ErrNotInteger):
			http.Error(w, err.Error(), http.StatusConflict)
			return
		case errors.Is(err, session.ErrStore):
			return // the README's idiom: the ErrorHandler answers
		case err != nil:
			fail(w, err)
			return
		}
		fmt.Fprint(w, sum)
	})
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set(r.URL.Query().Get("k"), r.URL.Query().Get("v")); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /flash", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set("flash", r.URL.Query().Get("v")); err != nil {
			fail(w, err)
			return
		}
		http.Redirect(w, r, "/show", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /show", func(w http.ResponseWriter, r *http.Request) {
		msg, _, err := session.Take[string](session.FromContext(r.Context()), "flash")
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, msg)
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		var v any
		ok, err := session.FromContext(r.Context()).Get(r.URL.Query().Get("k"), &v)
		switch {
		case err != nil:
			return // the README's idiom: the ErrorHandler answers
		case !ok:
			fmt.Fprint(w, "absent")
		default:
			_ = json.NewEncoder(w).Encode(v)
		}
	})
	mux.HandleFunc("POST /del", func(w http.ResponseWriter, r *http.Request) {
		session.FromContext(r.Context()).Delete(r.URL.Query().Get("k"))
	})
	mux.HandleFunc("GET /id", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, session.FromContext(r.Context()).ID())
	})
	mux.HandleFunc("GET /handle", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, session.FromContext(r.Context()).Handle())
	})
	mux.HandleFunc("POST /seedset", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if _, err := s.Get("seed", new(any)); err != nil {
			return // the README's idiom: the ErrorHandler answers
		}
		if err := s.Set(r.URL.Query().Get("k"), r.URL.Query().Get("v")); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Renew(); err != nil {
			fail(w, err)
		}
	})
	mux.Handle("POST /logout", m.CloseHandler())
	mux.HandleFunc("POST /destroy", func(w http.ResponseWriter, r *http.Request) {
		found, err := m.Destroy(r.Context(), r.URL.Query().Get("h"))
		switch {
		case err != nil:
			fail(w, err)
		case found:
			fmt.Fprint(w, "found")
		default:
			fmt.Fprint(w, "missed")
		}
	})
	return m.Handler(mux)
}

// server serves routes(m) on a loopback port until the test ends.
func server(t *testing.T, m *session.Manager) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(routes(m))
	t.Cleanup(srv.Close)
	return srv
}

// A client is one browser: a cookie jar, and a connection of its own for
// each request, so that concurrent clients reach the server, and the store,
// on connections of their own.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookiejar: %v", err)
	}
	return &client{t: t, base: srv.URL, http: &http.Client{
		Jar:       jar,
		Transport: &http.Transport{DisableKeepAlives: true},
	}}
}

// clone returns a client that holds the same cookies as c, with
// connections of its own.
func (c *client) clone() *client {
	c.t.Helper()
	c2 := newClient(c.t, &httptest.Server{URL: c.base})
	u, err := url.Parse(c.base)
	if err != nil {
		c.t.Fatalf("url: %v", err)
	}
	c2.http.Jar.SetCookies(u, c.http.Jar.Cookies(u))
	return c2
}

// do sends a request and returns the status and body; errors are reported
// with t.Errorf (it runs on other goroutines) and give status 0.
func (c *client) do(method, path string) (int, string) {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return 0, ""
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return 0, ""
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Errorf("%s %s: reading the body: %v", method, path, err)
	}
	return res.StatusCode, strings.TrimSpace(string(body))
}

// want fails the test unless a request of c answers 200 with body want.
func (c *client) want(method, path, want string) {
	c.t.Helper()
	if code, body := c.do(method, path); code != http.StatusOK || body != want {
		c.t.Fatalf("%s %s: got %d %q, want 200 %q", method, path, code, body, want)
	}
}

// ConcurrentAdds has n clients that share one session each add 1 to one key
// at once, every request on a connection of its own, and checks that the
// sum is exactly n and that each client got a sum of its own: the
// increment is atomic on m's store.
func ConcurrentAdds(t *testing.T, m *session.Manager, n int) {
	srv := server(t, m)
	first := newClient(t, srv)
	first.want("POST", "/set?k=other&v=x", "")
	sums := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		c := first.clone()
		wg.Go(func() {
			code, body := c.do("POST", "/add?k=n&n=1")
			if code != http.StatusOK {
				t.Errorf("client %d: POST /add: got %d %q, want 200", i, code, body)
				return
			}
			sums[i], _ = strconv.ParseInt(body, 10, 64)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	first.want("GET", "/get?k=n", strconv.Itoa(n))
	slices.Sort(sums)
	for i, sum := range sums {
		if sum != int64(i+1) {
			t.Fatalf("the %d clients got the sums %v, want each of 1 to %d once", n, sums, n)
		}
	}
}

// ConcurrentTakes leaves a flash message, then has takers clients that share
// the session take it at once, each on a connection of its own, for rounds
// rounds: exactly one of them must get it each time, and none after.
func ConcurrentTakes(t *testing.T, m *session.Manager, rounds, takers int) {
	srv := server(t, m)
	first := newClient(t, srv)
	for round := range rounds {
		msg := fmt.Sprint("flash ", round)
		first.want("POST", "/set?k=flash&v="+url.QueryEscape(msg), "")
		got := make([]string, takers)
		var wg sync.WaitGroup
		for i := range takers {
			c := first.clone()
			wg.Go(func() {
				code, body := c.do("GET", "/show")
				if code != http.StatusOK {
					t.Errorf("round %d, client %d: GET /show: got %d %q, want 200", round, i, code, body)
				}
				got[i] = body
			})
		}
		wg.Wait()
		shown := slices.DeleteFunc(got, func(s string) bool { return s == "" })
		if len(shown) != 1 || shown[0] != msg {
			t.Fatalf("round %d: %d concurrent takes showed %q, want %q exactly once", round, takers, shown, msg)
		}
		first.want("GET", "/show", "")
	}
}

// FlashAcrossRedirect sets a flash message in a request that answers with a
// redirect, follows it the way a browser does, and checks that the page it
// leads to shows the message once: the write was saved before the redirect
// went out.
func FlashAcrossRedirect(t *testing.T, m *session.Manager) {
	srv := server(t, m)
	c := newClient(t, srv)
	c.want("POST", "/flash?v=Saved.", "Saved.") // followed to /show
	c.want("GET", "/show", "")
}

// UndecodableValues plants bytes that the Codec cannot decode, and a
// counter that is not an integer, directly in m's store with plant (as an
// older version of the application, or a corruption, would leave them), and
// checks that only the reads of those keys fail: Get answers the
// ErrorHandler's 500 session_value_unreadable, Add ErrNotInteger, while the
// session and its other keys live on; Set and Delete repair them.
func UndecodableValues(t *testing.T, m *session.Manager, plant func(t *testing.T, id, key string, raw []byte)) {
	srv := server(t, m)
	c := newClient(t, srv)
	c.want("POST", "/set?k=name&v=ann", "")
	c.want("POST", "/add?k=n&n=1", "1")
	c.want("POST", "/set?k=other&v=kept", "")
	_, id := c.do("GET", "/id")
	plant(t, id, "name", []byte("{not json"))
	plant(t, id, "n", []byte("1.5"))

	if code, body := c.do("GET", "/get?k=name"); code != http.StatusInternalServerError || !strings.Contains(body, "session_value_unreadable") && !strings.Contains(body, "cannot be read") {
		t.Fatalf("GET of the planted value: got %d %q, want the ErrorHandler's 500", code, body)
	}
	c.want("GET", "/get?k=other", `"kept"`)
	if code, body := c.do("POST", "/add?k=n&n=1"); code != http.StatusConflict || !strings.Contains(body, "not an integer") {
		t.Fatalf("Add to the planted counter: got %d %q, want 409 saying it is not an integer", code, body)
	}
	c.want("GET", "/get?k=n", "1.5") // still there: a refused Add changes nothing

	c.want("POST", "/set?k=name&v=bob", "")
	c.want("GET", "/get?k=name", `"bob"`)
	c.want("POST", "/del?k=n", "")
	c.want("POST", "/add?k=n&n=1", "1")
	c.want("GET", "/get?k=other", `"kept"`)
	if _, again := c.do("GET", "/id"); again != id {
		t.Fatalf("the session changed its ID: the client was given a new session, want the same one")
	}
}
