package main

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed58a3dad2/session"
)

func TestExampleSQLiteKeepsSessionsAcrossARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	// The same signing key on both runs, as SESSION_KEYS gives.
	keys := []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}
	start := func() (base string, stop func()) {
		st, closeStore, err := openStore("sqlite", path, "session", "example")
		if err != nil {
			t.Fatalf("openStore: %v", err)
		}
		m, err := newManager(st, "example", session.Config{Keys: keys}, log.New(io.Discard, "", 0))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(newRouter(m, ""))
		return srv.URL, func() { srv.Close(); m.Close(); closeStore() }
	}
	jar, _ := cookiejar.New(nil) // cookies are per host, not per port
	base, stop := start()
	c := &apiClient{t: t, base: base, http: &http.Client{Jar: jar}}
	if code, body, _ := c.call("POST", "/api/login", `{"user":"ann"}`); code != http.StatusOK {
		t.Fatalf("login: got %d %s", code, body)
	}
	if _, body, _ := c.call("POST", "/api/counter", ""); body != `{"n":1}` {
		t.Fatalf("counter: got %s, want n=1", body)
	}
	stop()

	c.base, stop = start()
	defer stop()
	if code, body, _ := c.call("GET", "/api/whoami", ""); code != http.StatusOK || !strings.Contains(body, `"user":"ann"`) {
		t.Errorf("whoami after the restart: got %d %s, want ann still logged in", code, body)
	}
	if _, body, _ := c.call("POST", "/api/counter", ""); body != `{"n":2}` {
		t.Errorf("counter after the restart: got %s, want n=2", body)
	}
}

func TestExamplePostgresNeedsADSN(t *testing.T) {
	if _, _, err := openStore("postgres", "", "session", "example"); err == nil || !strings.Contains(err.Error(), "-dsn") {
		t.Errorf("openStore postgres without -dsn: got %v, want an error naming -dsn", err)
	}
}
