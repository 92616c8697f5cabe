package migratestore_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/migratestore"
	"github.com/seed58a3dad2/session/store"
)

// send serves one request with token on h and returns the token to keep
// and the body.
func send(h http.Handler, method, path, token string) (string, string) {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set(session.HeaderID, token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if values, ok := w.Result().Header[session.HeaderID]; ok {
		token = values[0]
	}
	return token, strings.TrimSpace(w.Body.String())
}

// TestReadThrough is the rollout: servers on the old store alone and
// servers whose Store reads through (before MoveFrom) serve one farm, and
// every session, write and logout is seen by both kinds; nothing reaches
// the new store until MoveFrom, from when sessions move.
func TestReadThrough(t *testing.T) {
	p := memPair(t)
	f := &farm{t: t, clock: p.clock, expired: map[string]int{}}
	moveFrom := p.clock.Now().Add(time.Hour)
	onOld := f.manager(p.old).Handler(routes())
	s := migratestore.New(p.old, p.new, migratestore.Config{MoveFrom: moveFrom, Now: p.clock.Now})
	through := f.manager(s).Handler(routes())
	servers := map[string]http.Handler{"the old store alone": onOld, "reading through": through}
	other := map[string]string{"the old store alone": "reading through", "reading through": "the old store alone"}

	for name, h := range servers {
		t.Run("a session created "+name+" is served by both", func(t *testing.T) {
			tok, _ := send(h, http.MethodGet, "/set?k=a&v=1", "")
			tok, _ = send(servers[other[name]], http.MethodGet, "/set?k=b&v=2", tok)
			if _, got := send(h, http.MethodGet, "/all", tok); got != `{"a":"1","b":"2"}` {
				t.Errorf("/all %s: got %s, want a and b", name, got)
			}
			_, id := send(h, http.MethodGet, "/id", tok)
			if _, found, _ := p.old.Load(t.Context(), id, 0); !found {
				t.Errorf("the session is not in the old store")
			}
			send(servers[other[name]], http.MethodPost, "/close", tok)
			if _, got := send(h, http.MethodGet, "/all", tok); got != `{}` {
				t.Errorf("/all %s after a logout on the other: got %s, want {}", name, got)
			}
		})
	}
	wantCount(t, p.new, 0, "while the Store reads through")

	t.Run("from MoveFrom on, sessions move", func(t *testing.T) {
		tok, _ := send(onOld, http.MethodGet, "/set?k=a&v=1", "")
		_, id := send(onOld, http.MethodGet, "/id", tok)
		p.clock.Advance(time.Hour)
		if _, got := send(through, http.MethodGet, "/get?k=a", tok); got != "1" {
			t.Errorf("/get after MoveFrom: got %q, want 1", got)
		}
		if _, found, _ := p.old.Load(t.Context(), id, 0); found {
			t.Errorf("the old store still has the session")
		}
		wantCount(t, p.new, 1, "after MoveFrom")
	})
}

// wantCount fails the test unless st, an Indexer, counts want sessions.
func wantCount(t *testing.T, st store.Store, want int, when string) {
	t.Helper()
	if n, err := st.(store.Indexer).Count(t.Context()); err != nil || n != want {
		t.Errorf("Count of the new store %s: got %d, %v, want %d", when, n, err, want)
	}
}
