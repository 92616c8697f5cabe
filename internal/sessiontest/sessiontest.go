// Package sessiontest holds scenarios that hold a session.Manager to its
// promises through real HTTP connections, whatever its store: the tests of
// the root package run them on memstore and Redis, those of sqlstore on
// SQLite and PostgreSQL, so that every store is held to the same ones
// without the root package's tests importing a SQL driver.
package sessiontest

import (
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
//	POST /add?k=&n=   Session.Add, answering the sum
//	POST /set?k=&v=   Session.Set of the string v
//	POST /flash?v=    Set "flash" to v, then 303 to /show
//	GET  /show        Take "flash", answering it or "" when there is none
//	GET  /get?k=      Get of an int64, answering it or "absent"
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
		if err != nil {
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
		v, ok, err := session.Get[int64](session.FromContext(r.Context()), r.URL.Query().Get("k"))
		switch {
		case err != nil:
			fail(w, err)
		case !ok:
			fmt.Fprint(w, "absent")
		default:
			fmt.Fprint(w, v)
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
