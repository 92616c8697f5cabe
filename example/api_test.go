package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/redistest"
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
	t.Run("a stored counter that cannot be decoded answers 500, not an empty 200", func(t *testing.T) {
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
		code, body, _ := c.call("POST", "/api/counter", "")
		if code != http.StatusInternalServerError || !strings.Contains(body, `"error":"session_value_unreadable"`) {
			t.Fatalf("got %d %q, want 500 session_value_unreadable", code, body)
		}
	})
}
