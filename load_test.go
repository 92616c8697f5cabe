package session_test

import (
	"net/http"
	"testing"

	"github.com/seed58a3dad2/session"
)

func TestAStoreAnsweringNilForAnEmptySessionWorks(t *testing.T) {
	e := newEnv(t, session.Config{})
	e.store.Store = nilMapStore{e.store.Store}
	c := e.client()
	c.get("/set?k=a&v=1")
	c.get("/clear")
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		_ = s.Set("b", 2) // a write before the first read: load merges it
		if v, ok, err := session.Get[int](s, "a"); ok || err != nil {
			t.Errorf("got a=%v %v %v, want absent", v, ok, err)
		}
	})
	if got := c.get("/keys"); got != "b" {
		t.Fatalf("got keys %q, want b", got)
	}
}
