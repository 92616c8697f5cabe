package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
)

// apiClient is a browser-like client with a cookie jar.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *apiClient) call(method, path, body string) (int, string, http.Header) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

func startExample(t *testing.T, storeName, redisAddr string, timeout time.Duration) (func() *apiClient, *session.Manager) {
	st, closeStore, err := openStore(storeName, redisAddr, redistest.Prefix(t), "example")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	m, err := session.New(session.Config{Store: st, Keys: []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}, IdleTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() }) // before closeStore (cleanups run last first): its reaper uses the store
	srv := httptest.NewServer(newRouter(m, ""))
	t.Cleanup(srv.Close)
	return func() *apiClient {
		jar, _ := cookiejar.New(nil)
		return &apiClient{t: t, base: srv.URL, http: &http.Client{Jar: jar}}
	}, m
}

func TestExampleAPI(t *testing.T) {
	stores := map[string]string{"memory": "", "miniredis": "", "redis": ""}
	for storeName, addr := range stores {
		t.Run("with -store "+storeName, func(t *testing.T) {
			if storeName == "redis" {
				// REDIS_ADDR, or a private redis-server; skips without either.
				addr = redistest.Client(t).(*redis.Client).Options().Addr
			}
			newClient, _ := startExample(t, storeName, addr, 20*time.Minute)
			testEndpoints(t, newClient)
		})
	}
}

func testEndpoints(t *testing.T, newClient func() *apiClient) {
	c := newClient()
	t.Run("whoami without a session is session_required", func(t *testing.T) {
		code, body, _ := c.call("GET", "/api/whoami", "")
		if code != 401 || !strings.Contains(body, `"session_required"`) {
			t.Fatalf("got %d %s", code, body)
		}
	})
	t.Run("the counter counts", func(t *testing.T) {
		for want := 1; want <= 3; want++ {
			code, body, _ := c.call("POST", "/api/counter", "")
			if code != 200 || body != `{"n":`+string(rune('0'+want))+`}` {
				t.Fatalf("got %d %s, want n=%d", code, body, want)
			}
		}
	})
	var before string
	t.Run("login renews the ID, keeps the data and answers the user and expiry", func(t *testing.T) {
		u, _ := http.NewRequest("GET", c.base, nil)
		before = c.http.Jar.Cookies(u.URL)[0].Value
		code, body, h := c.call("POST", "/api/login", `{"user":"ann"}`)
		var got struct{ User, Expires string }
		if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got.User != "ann" || got.Expires == "" {
			t.Fatalf("got %d %s", code, body)
		}
		if exp, err := time.Parse(time.RFC3339, got.Expires); err != nil || exp.Before(time.Now().Add(19*time.Minute)) {
			t.Fatalf("expires %q: %v", got.Expires, err)
		}
		if h.Get(session.HeaderExpires) == "" || c.http.Jar.Cookies(u.URL)[0].Value == before {
			t.Fatal("no new token after login")
		}
		if _, body, _ := c.call("POST", "/api/counter", ""); body != `{"n":4}` {
			t.Fatalf("counter after login got %s, want n=4", body)
		}
	})
	t.Run("whoami answers the logged-in user", func(t *testing.T) {
		code, body, _ := c.call("GET", "/api/whoami", "")
		if code != 200 || !strings.Contains(body, `"user":"ann"`) || !strings.Contains(body, `"expires":"`) {
			t.Fatalf("got %d %s", code, body)
		}
	})
	t.Run("keepalive answers 204 for a live session, 401 session_required without one, and starts none", func(t *testing.T) {
		if code, body, _ := c.call("POST", "/api/keepalive", ""); code != 204 {
			t.Fatalf("got %d %s, want 204", code, body)
		}
		code, body, h := newClient().call("POST", "/api/keepalive", "")
		if code != 401 || !strings.Contains(body, `"session_required"`) || h.Get("Set-Cookie") != "" {
			t.Fatalf("got %d %s, Set-Cookie %q; want 401 session_required and no cookie", code, body, h.Get("Set-Cookie"))
		}
	})
	t.Run("the pre-login token is dead", func(t *testing.T) {
		req, _ := http.NewRequest("GET", c.base+"/api/whoami", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: before})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(b), "session_expired") {
			t.Fatalf("got %d %s", resp.StatusCode, b)
		}
	})
	t.Run("values are stored as JSON and read back", func(t *testing.T) {
		for key, v := range map[string]string{"cart": `{"items":[1,2],"note":"x"}`, "nothing": "null", "n2": "42", "s": `"text"`} {
			if code, body, _ := c.call("PUT", "/api/values/"+key, v); code != 204 {
				t.Fatalf("PUT %s got %d %s", key, code, body)
			}
			if code, body, _ := c.call("GET", "/api/values/"+key, ""); code != 200 || body != v {
				t.Fatalf("GET %s got %d %s, want %s", key, code, body, v)
			}
		}
		code, body, _ := c.call("GET", "/api/values", "")
		var all map[string]json.RawMessage
		if code != 200 || json.Unmarshal([]byte(body), &all) != nil || string(all["cart"]) != `{"items":[1,2],"note":"x"}` || string(all["nothing"]) != "null" || all["user"] != nil {
			t.Fatalf("got %d %s", code, body)
		}
	})
	t.Run("invalid JSON is a 400 and an absent key a 404", func(t *testing.T) {
		if code, _, _ := c.call("PUT", "/api/values/bad", "{nope"); code != 400 {
			t.Fatalf("got %d, want 400", code)
		}
		if code, _, _ := c.call("GET", "/api/values/absent", ""); code != 404 {
			t.Fatalf("got %d, want 404", code)
		}
	})
	t.Run("logout answers 204 and the next call has no session", func(t *testing.T) {
		if code, _, _ := c.call("POST", "/api/logout", ""); code != 204 {
			t.Fatalf("got %d", code)
		}
		if code, body, _ := c.call("GET", "/api/whoami", ""); code != 401 || !strings.Contains(body, "session_required") {
			t.Fatalf("got %d %s", code, body)
		}
		if _, body, _ := c.call("POST", "/api/counter", ""); body != `{"n":1}` {
			t.Fatalf("counter after logout got %s, want a fresh n=1", body)
		}
	})
	t.Run("two clients have two sessions", func(t *testing.T) {
		a, b := newClient(), newClient()
		a.call("POST", "/api/counter", "")
		a.call("POST", "/api/counter", "")
		if _, body, _ := b.call("POST", "/api/counter", ""); body != `{"n":1}` {
			t.Fatalf("got %s", body)
		}
	})
}

func TestExampleRejectsUnknownStore(t *testing.T) {
	if _, _, err := openStore("mongodb", "", "session", "example"); err == nil || !strings.Contains(err.Error(), "memory, redis, miniredis, sqlite or postgres") {
		t.Fatalf("got %v", err)
	}
}

func TestExampleHostileValues(t *testing.T) {
	st, closeStore, err := openStore("memory", "", "session", "example")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	m, err := session.New(session.Config{Store: st, Keys: []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newRouter(m, ""))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &apiClient{t: t, base: srv.URL, http: &http.Client{Jar: jar}}

	t.Run("a value of 20 KB of '<' is stored as 20 KB, not escaped past the size limit", func(t *testing.T) {
		value := `"` + strings.Repeat("<", 20<<10) + `"`
		if code, body, _ := c.call("PUT", "/api/values/html", string(value)); code != http.StatusNoContent {
			t.Fatalf("got %d %s, want 204", code, body)
		}
		if code, body, _ := c.call("GET", "/api/values/html", ""); code != http.StatusOK || body != string(value) {
			t.Fatalf("got %d and %d bytes, want 200 and the %d bytes stored", code, len(body), len(value))
		}
	})
	t.Run("a stored counter that cannot be read starts over, and the other values live on", func(t *testing.T) {
		if code, body, _ := c.call("PUT", "/api/values/kept", `"yes"`); code != http.StatusNoContent {
			t.Fatalf("PUT: got %d %s, want 204", code, body)
		}
		c.call("POST", "/api/counter", "")
		var id string
		probe := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id = session.FromContext(r.Context()).ID()
		}))
		r := httptest.NewRequest("GET", "/", nil)
		u, _ := url.Parse(srv.URL)
		for _, ck := range jar.Cookies(u) {
			r.AddCookie(ck)
		}
		probe.ServeHTTP(httptest.NewRecorder(), r)
		if _, err := st.Update(t.Context(), id, store.Delta{Set: map[string][]byte{"n": []byte("{not json")}}, time.Hour, 0); err != nil {
			t.Fatal(err)
		}
		if code, body, _ := c.call("POST", "/api/counter", ""); code != http.StatusOK || body != `{"n":1}` {
			t.Fatalf("got %d %q, want 200 {\"n\":1}", code, body)
		}
		if code, body, _ := c.call("POST", "/api/counter", ""); body != `{"n":2}` {
			t.Fatalf("the repaired counter: got %d %q, want {\"n\":2}", code, body)
		}
		if code, body, _ := c.call("GET", "/api/values/kept", ""); code != http.StatusOK || body != `"yes"` {
			t.Fatalf("the other value: got %d %q, want \"yes\"", code, body)
		}
	})
}

func TestExampleFarmRoutes(t *testing.T) {
	clock := fakeclock.New()
	st := memstore.New(memstore.Config{Now: clock.Now})
	t.Cleanup(func() { st.Close() })
	var logs bytes.Buffer
	var logsMu sync.Mutex
	logger := log.New(writerFunc(func(p []byte) (int, error) {
		logsMu.Lock()
		defer logsMu.Unlock()
		return logs.Write(p)
	}), "", 0)
	m, err := newManager(st, "shop", session.Config{Keys: []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}, Now: clock.Now, ReapInterval: -1}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	srv := httptest.NewServer(newRouter(m, "s3cret"))
	t.Cleanup(srv.Close)
	newClient := func() *apiClient {
		jar, _ := cookiejar.New(nil)
		return &apiClient{t: t, base: srv.URL, http: &http.Client{Jar: jar}}
	}
	wantLog := func(line string) {
		t.Helper()
		logsMu.Lock()
		defer logsMu.Unlock()
		if !strings.Contains(logs.String(), line+"\n") {
			t.Fatalf("the log has no line %q:\n%s", line, logs.String())
		}
	}
	admin := func(method, path string) (int, string) {
		t.Helper()
		c := newClient()
		req, _ := http.NewRequest(method, c.base+path, nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}

	phone, laptop := newClient(), newClient()
	phone.call("POST", "/api/login", `{"user":"ann"}`)
	laptop.call("POST", "/api/login", `{"user":"ann"}`)

	t.Run("devices lists the user's sessions, marking the current one", func(t *testing.T) {
		code, body, _ := phone.call("GET", "/api/devices", "")
		var list []map[string]any
		if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 2 {
			t.Fatalf("got %d %s, want two devices", code, body)
		}
		current := 0
		for _, d := range list {
			for _, k := range []string{"handle", "created", "last_access", "expires", "current"} {
				if _, ok := d[k]; !ok {
					t.Fatalf("device %v has no %q", d, k)
				}
			}
			if d["current"] == true {
				current++
			}
		}
		if current != 1 {
			t.Fatalf("got %d current devices, want 1: %s", current, body)
		}
	})
	t.Run("logout-others ends the other sessions and logs each", func(t *testing.T) {
		if code, body, _ := phone.call("POST", "/api/logout-others", ""); code != 200 || body != `{"ended":1}` {
			t.Fatalf("got %d %s, want {\"ended\":1}", code, body)
		}
		if code, body, _ := laptop.call("GET", "/api/whoami", ""); code != 401 || !strings.Contains(body, "session_expired") {
			t.Fatalf("the laptop got %d %s, want 401 session_expired", code, body)
		}
		wantLog("session destroyed app=shop user=ann reason=logout_everywhere")
	})
	t.Run("admin routes answer 401 without the token", func(t *testing.T) {
		for _, path := range []string{"/admin/sessions", "/admin/users/ann"} {
			if code, _, _ := phone.call("GET", path, ""); code != http.StatusUnauthorized {
				t.Fatalf("GET %s without the token: got %d, want 401", path, code)
			}
		}
	})
	t.Run("admin lists sessions with their handles and destroys one", func(t *testing.T) {
		code, body := admin("GET", "/admin/sessions")
		var out struct {
			Count    int                 `json:"count"`
			Sessions []map[string]string `json:"sessions"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil || out.Count != 1 || len(out.Sessions) != 1 {
			t.Fatalf("got %d %s, want one session", code, body)
		}
		s := out.Sessions[0]
		for _, k := range []string{"handle", "user", "created", "last_access", "expires"} {
			if s[k] == "" {
				t.Fatalf("the session %v has no %q", s, k)
			}
		}
		if code, _ := admin("DELETE", "/admin/sessions/"+s["handle"]); code != http.StatusNoContent {
			t.Fatalf("DELETE got %d, want 204", code)
		}
		if code, _, _ := phone.call("GET", "/api/whoami", ""); code != 401 {
			t.Fatalf("after the admin's destroy the phone got %d, want 401", code)
		}
		wantLog("session destroyed app=shop user=ann reason=admin")
		if code, _ := admin("DELETE", "/admin/sessions/"+s["handle"]); code != http.StatusNotFound {
			t.Fatalf("a second DELETE got %d, want 404", code)
		}
	})
	t.Run("admin logs a user out everywhere", func(t *testing.T) {
		a, b := newClient(), newClient()
		a.call("POST", "/api/login", `{"user":"bob smith"}`)
		b.call("POST", "/api/login", `{"user":"bob smith"}`)
		if code, body := admin("DELETE", "/admin/users/bob%20smith"); code != 200 || body != `{"ended":2}` {
			t.Fatalf("got %d %s, want {\"ended\":2}", code, body)
		}
	})
	t.Run("each expiry logs one line", func(t *testing.T) {
		c := newClient()
		c.call("POST", "/api/login", `{"user":"cy"}`)
		c.call("POST", "/api/counter", "")
		clock.Advance(21 * time.Minute)
		if _, err := m.Reap(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantLog("session expired app=shop user=cy keys=1")
	})
}

// writerFunc is an io.Writer made of a function.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestExampleLogLineOfAHostileUser: each destroy logs one line in the
// format operators' scripts read. A user name is whatever the client sent
// at login, so a name holding a newline must not become a second, forged
// line (here: an administrator's destroy of ann's session).
func TestExampleLogLineOfAHostileUser(t *testing.T) {
	st := memstore.New(memstore.Config{})
	t.Cleanup(func() { st.Close() })
	var logs bytes.Buffer
	var logsMu sync.Mutex
	logger := log.New(writerFunc(func(p []byte) (int, error) {
		logsMu.Lock()
		defer logsMu.Unlock()
		return logs.Write(p)
	}), "", 0)
	m, err := newManager(st, "shop", session.Config{Keys: []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}, ReapInterval: -1}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	srv := httptest.NewServer(newRouter(m, ""))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &apiClient{t: t, base: srv.URL, http: &http.Client{Jar: jar}}

	user := "mallory reason=logout\nsession destroyed app=shop user=ann reason=admin"
	b, _ := json.Marshal(map[string]string{"user": user})
	c.call("POST", "/api/login", string(b))
	c.call("POST", "/api/logout", "")

	logsMu.Lock()
	defer logsMu.Unlock()
	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Errorf("one logout logged %d lines, want 1:\n%s", len(lines), logs.String())
	}
}

// TestStartExampleStopsEverythingItStarts: the Manager's reaper claims
// expired sessions from the store, so it must stop before the store's
// client is closed, or it goes on and logs "reaper: claim expired
// sessions: redis: client is closed" after the test.
func TestStartExampleStopsEverythingItStarts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Run("with -store miniredis", func(t *testing.T) {
		newClient, _ := startExample(t, "miniredis", "", time.Minute)
		if code, _, _ := newClient().call("POST", "/api/counter", ""); code != http.StatusOK {
			t.Fatalf("POST /api/counter: got %d, want 200", code)
		}
	})
}
