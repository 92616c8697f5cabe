package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/seed58a3dad2/session"
)

// testConcurrentWrites sends many concurrent requests on one session, each
// setting its own key, and checks that every one of them was kept: the
// lost-update problem of whole-blob stores.
func testConcurrentWrites(t *testing.T, e *env) {
	const writers = 64
	c := e.client()
	c.get("/set?k=seed&v=0")
	var wg sync.WaitGroup
	codes := make([]int, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/incr-key?k=k%d", i), nil)
			r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: c.token})
			w := httptest.NewRecorder()
			e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := session.FromContext(r.Context())
				// Read, then write: the widest window for a lost update.
				if _, _, err := session.Get[int](s, "seed"); err != nil {
					return
				}
				_ = s.Set(r.URL.Query().Get("k"), i)
			})).ServeHTTP(w, r)
			codes[i] = w.Code
		}()
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Fatalf("request %d got %d", i, code)
		}
	}
	var n int
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		keys, _ := session.FromContext(r.Context()).Keys()
		n = len(keys)
	})
	if n != writers+1 {
		t.Fatalf("got %d keys, want %d: concurrent writes were lost", n, writers+1)
	}
	for i := range writers {
		if got := c.get(fmt.Sprintf("/get?k=k%d", i)); got != fmt.Sprint(i) {
			t.Fatalf("k%d: got %q, want %d", i, got, i)
		}
	}
}

func TestConcurrentWritesMemstore(t *testing.T) {
	testConcurrentWrites(t, newEnv(t, session.Config{MaxKeys: 1000}))
}

// testRenewRacingWrites logs a client in (Renew) while other requests of the
// same client (tabs, API calls) write keys of their own with the old token,
// round after round: every write answered 200 must be readable with the
// token the login got or with the one its own response gave, whichever side
// of the atomic move it landed on.
func testRenewRacingWrites(t *testing.T, e *env) {
	const rounds, writers = 20, 16
	lost := 0
	for round := range rounds {
		login := e.client()
		login.get("/set?k=start&v=0")
		old := login.token
		var wg sync.WaitGroup
		writes := make([]*client, writers)
		for i := range writers {
			writes[i] = &client{e: e, token: old}
			wg.Go(func() { writes[i].do(http.MethodPost, fmt.Sprintf("/set?k=w%d&v=%d", i, round)) })
		}
		wg.Go(func() { login.get("/renew") })
		wg.Wait()
		for i, c := range writes {
			if c.last.Code != http.StatusOK {
				t.Fatalf("round %d: write %d got %d %s, want 200", round, i, c.last.Code, c.last.Body)
			}
			key, want := fmt.Sprintf("w%d", i), fmt.Sprint(round)
			if (&client{e: e, token: login.token}).get("/get?k="+key) != want &&
				(&client{e: e, token: c.token}).get("/get?k="+key) != want {
				lost++
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d writes answered 200 are in no session the client holds", lost, rounds*writers)
	}
}

func TestRenewRacingWritesMemstore(t *testing.T) {
	testRenewRacingWrites(t, newEnv(t, session.Config{}))
}
