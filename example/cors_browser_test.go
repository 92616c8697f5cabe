package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
)

// allowOrigin is the CORS layer an application puts in front of its API
// (go-chi/cors in the README). It exposes no response headers itself: that
// the session headers are readable across origins is the session
// middleware's doing, which is what the test checks.
func allowOrigin(origin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == origin {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Session-Id")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// A page on one origin keeps a session with an API on another, through the
// Session-Id header: the browser must let the script read Session-Id and
// Session-Expires, and the preflight must let it send Session-Id.
func TestBrowserCrossOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: browser tests skipped")
	}
	b := startBrowser(t)
	page := startRecordedExample(t, 20*time.Minute) // serves / and /session.js

	st, closeStore, err := openStore("memory", "", "session", "example")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	m, err := session.New(session.Config{Store: st, Keys: []session.Key{{Hash: bytes.Repeat([]byte("c"), 32)}}})
	if err != nil {
		t.Fatal(err)
	}
	// Closed before closeStore (cleanups run last first): its reaper uses
	// the store.
	t.Cleanup(func() { m.Close() })
	api := httptest.NewServer(allowOrigin(page.url, newRouter(m, ""))) // another port: another origin
	t.Cleanup(api.Close)

	p := b.newPage(t)
	p.open(page.url + "/")
	p.newClient("x", fmt.Sprintf(`{closeURL: %q}`, api.URL+"/api/logout"))
	count := fmt.Sprintf(`x.fetch(%q, {method: "POST"}).then((r) => r.json()).then((d) => d.n)`, api.URL+"/api/counter")

	if n := evaluate[int](p, count); n != 1 {
		t.Fatalf("first call: got n=%d, want 1", n)
	}
	if tok := evaluate[*string](p, `x.token`); tok == nil {
		t.Fatal("the script could not read Session-Id across origins")
	}
	if ok := evaluate[bool](p, `x.expires !== null && x.expires > new Date()`); !ok {
		t.Fatal("the script could not read Session-Expires across origins")
	}
	if n := evaluate[int](p, count); n != 2 {
		t.Fatalf("second call: got n=%d, want 2: the token did not travel across origins", n)
	}
	evaluate[bool](p, `x.closeSession().then(() => true)`)
	if tok := evaluate[*string](p, `x.token`); tok != nil {
		t.Fatalf("after closeSession the client holds %q", *tok)
	}
	if n := evaluate[int](p, count); n != 1 {
		t.Fatalf("after closeSession: got n=%d, want a new session's 1", n)
	}
}
