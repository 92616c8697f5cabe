package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
)

// A browser without JavaScript keeps its session in the cookie alone: the
// form works, and the cookie expires when the session does.
func TestFormOnTheCookieAlone(t *testing.T) {
	clock := fakeclock.New()
	st := memstore.New(memstore.Config{Now: clock.Now})
	t.Cleanup(func() { st.Close() })
	m, err := session.New(session.Config{Store: st, Keys: []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := newRouter(m, "")
	var cookie *http.Cookie // what the browser holds

	// do sends a request as a browser would (the cookie, no Session-Id) and
	// takes the cookie the answer sets.
	do := func(method, target, form string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, target, strings.NewReader(form))
		if form != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != nil {
			r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			if c.Name == m.CookieName() {
				cookie = c
				if c.MaxAge < 0 {
					cookie = nil
				}
			}
		}
		return w
	}
	// wantCookie checks that the cookie expires with the session.
	wantCookie := func(w *httptest.ResponseRecorder, expires time.Time) {
		t.Helper()
		if cookie == nil {
			t.Fatal("no session cookie")
		}
		if !cookie.Expires.Equal(expires) || cookie.MaxAge != int(expires.Sub(clock.Now())/time.Second) {
			t.Fatalf("the cookie has Expires %v, Max-Age %d; want the session's expiry %v", cookie.Expires, cookie.MaxAge, expires)
		}
		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
			t.Fatalf("the cookie has HttpOnly %v, SameSite %v; want HttpOnly, Lax", cookie.HttpOnly, cookie.SameSite)
		}
		if got := w.Header().Get(session.HeaderExpires); got != expires.Format(expiresLayout) {
			t.Fatalf("got Session-Expires %q, want %v", got, expires)
		}
	}
	// wantPage checks what the form page shows.
	wantPage := func(n, expires string) {
		t.Helper()
		body := do("GET", "/form", "").Body.String()
		if !strings.Contains(body, `<output id="n">`+n+`</output>`) || !strings.Contains(body, expires) {
			t.Fatalf("the page does not show n=%s and %q:\n%s", n, expires, body)
		}
	}

	t.Run("without a session the page shows none and sets no cookie", func(t *testing.T) {
		wantPage("0", "no session")
		if cookie != nil {
			t.Fatal("a cookie was set for an empty session")
		}
	})
	t.Run("a post starts the session, sets the cookie and redirects back", func(t *testing.T) {
		w := do("POST", "/form", "do=count")
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/form" {
			t.Fatalf("got %d to %q, want 303 to /form", w.Code, w.Header().Get("Location"))
		}
		wantCookie(w, clock.Now().Add(20*time.Minute))
		body := do("GET", "/form", "").Body.String()
		if !strings.Contains(body, `<p id="flash" role="status">Counted: 1.</p>`) {
			t.Fatalf("the page after the redirect does not show the flash:\n%s", body)
		}
		wantPage("1", clock.Now().Add(20*time.Minute).Format(expiresLayout))
		if body := do("GET", "/form", "").Body.String(); strings.Contains(body, `id="flash"`) {
			t.Fatalf("the flash was shown twice:\n%s", body)
		}
	})
	t.Run("the cookie's expiry moves with the session's", func(t *testing.T) {
		clock.Advance(5 * time.Minute)
		w := do("POST", "/form", "do=count")
		wantCookie(w, clock.Now().Add(20*time.Minute))
		clock.Advance(2 * time.Minute) // a read renews it too, once the touch is due
		w = do("GET", "/form", "")
		wantCookie(w, clock.Now().Add(20*time.Minute))
		if !strings.Contains(w.Body.String(), `<output id="n">2</output>`) {
			t.Fatalf("got %s, want n=2", w.Body.String())
		}
	})
	t.Run("an expired session's cookie expires with it and the next post starts over", func(t *testing.T) {
		clock.Advance(21 * time.Minute)
		// The browser drops the cookie itself: its Expires is the session's.
		if cookie == nil || cookie.Expires.After(clock.Now()) {
			t.Fatalf("the cookie %v outlives the session it names", cookie)
		}
		wantPage("0", "no session")
		do("POST", "/form", "do=count")
		wantPage("1", clock.Now().Add(20*time.Minute).Format(expiresLayout))
	})
	t.Run("logging out deletes the cookie", func(t *testing.T) {
		do("POST", "/form", "do=logout")
		if cookie != nil {
			t.Fatal("the cookie survived the logout")
		}
		wantPage("0", "no session")
	})
	t.Run("a cross-site post is refused", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/form", strings.NewReader(url.Values{"do": {"count"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			t.Fatalf("got %d, want 403", w.Code)
		}
	})
}

func TestPagesAreServed(t *testing.T) {
	newClient, _ := startExample(t, "memory", "", 20*time.Minute)
	c := newClient()
	for path, want := range map[string]string{
		"/":           `import { SessionClient } from "/session.js";`,
		"/session.js": "export class SessionClient",
		"/form":       `<form method="post" action="/form">`,
	} {
		req, _ := http.NewRequest("GET", c.base+path, nil)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(body.String(), want) {
			t.Fatalf("GET %s: got %d, want 200 with %q", path, resp.StatusCode, want)
		}
	}
}
