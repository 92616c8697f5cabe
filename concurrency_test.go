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
