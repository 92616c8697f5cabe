package sqlstore_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/sqlstore"
)

// farmServer is one server of a farm: a Manager on a Store of its own, on
// the farm's database.
type farmServer struct {
	m   *session.Manager
	srv *httptest.Server
}

func TestFarm(t *testing.T) {
	// Two servers on one database, behind no balancer: each client picks a
	// server per request. The middleware uses every capability.
	forEach(t, func(t *testing.T, b backend) {
		clock := fakeclock.New()
		keys := []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}
		var (
			mu      sync.Mutex // protects expired
			expired []string   // "user:cart" of each expiry handed to OnExpired
		)
		dbs := pools(t, b, 2)
		servers := make([]*farmServer, 2)
		for i := range servers {
			st := newStore(t, dbs[i], b.dialect, sqlstore.Config{Now: clock.Now, PollInterval: 5 * time.Millisecond})
			m, err := session.New(session.Config{
				Store:         st,
				Keys:          keys,
				Now:           clock.Now,
				IdleTimeout:   20 * time.Minute,
				MaxSessions:   2,
				PublishEvents: true,
				ReapInterval:  -1, // the test reaps
				OnExpired: func(ctx context.Context, e session.Expiry) error {
					var cart string
					_, _ = e.Get("cart", &cart)
					mu.Lock()
					expired = append(expired, e.User+":"+cart)
					mu.Unlock()
					return nil
				},
			})
			if err != nil {
				t.Fatalf("session.New: %v", err)
			}
			t.Cleanup(func() { _ = m.Close() })
			mux := http.NewServeMux()
			mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
				s := session.FromContext(r.Context())
				if err := s.Login(r.FormValue("user"), "test"); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				_ = s.Set("cart", r.FormValue("cart"))
			})
			mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
				s := session.FromContext(r.Context())
				user, err := s.User()
				if err != nil {
					return // the middleware answers
				}
				var cart string
				_, _ = s.Get("cart", &cart)
				_, _ = io.WriteString(w, user+":"+cart)
			})
			mux.Handle("POST /logout", m.CloseHandler())
			srv := httptest.NewServer(m.Handler(mux))
			t.Cleanup(srv.Close)
			servers[i] = &farmServer{m: m, srv: srv}
		}
		client := func() *http.Client {
			jar, _ := cookiejar.New(nil) // cookies are per host, not port: one jar for the farm
			return &http.Client{Jar: jar}
		}
		do := func(c *http.Client, server int, method, path, form string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest(method, servers[server].srv.URL+path, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}

		events := make(chan session.Event, 10)
		cancel, err := servers[1].m.Subscribe(func(e session.Event) { events <- e })
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer cancel()

		ann, bob, carol := client(), client(), client()
		if code, body := do(ann, 0, "POST", "/login", "user=ann&cart=apples"); code != http.StatusOK {
			t.Fatalf("ann's login on server 0: got %d %s", code, body)
		}
		if _, body := do(ann, 1, "GET", "/whoami", ""); body != "ann:apples" {
			t.Errorf("ann on server 1: got %q, want ann:apples: the session moves freely", body)
		}
		if code, body := do(bob, 1, "POST", "/login", "user=bob&cart=pears"); code != http.StatusOK {
			t.Fatalf("bob's login on server 1: got %d %s", code, body)
		}
		if code, _ := do(carol, 0, "POST", "/login", "user=carol&cart=plums"); code != http.StatusServiceUnavailable {
			t.Errorf("carol's login beyond MaxSessions 2: got %d, want 503", code)
		}
		if code, _ := do(ann, 1, "POST", "/logout", ""); code != http.StatusNoContent {
			t.Errorf("ann's logout on server 1: got %d, want 204", code)
		}
		select {
		case e := <-events:
			if e.Kind != session.EventDestroyed || e.User != "ann" {
				t.Errorf("event: got %+v, want ann's session destroyed", e)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("no event 10s after ann's logout")
		}
		if _, body := do(ann, 0, "GET", "/whoami", ""); strings.Contains(body, "ann") {
			t.Errorf("ann on server 0 after her logout on server 1: got %q, want no session", body)
		}
		if code, body := do(carol, 0, "POST", "/login", "user=carol&cart=plums"); code != http.StatusOK {
			t.Errorf("carol's login once ann's session ended: got %d %s, want 200", code, body)
		}

		// Both sessions time out; the servers reap at once.
		clock.Advance(time.Hour)
		var wg sync.WaitGroup
		for _, s := range servers {
			wg.Go(func() {
				if _, err := s.m.Reap(t.Context()); err != nil {
					t.Errorf("Reap: %v", err)
				}
			})
		}
		wg.Wait()
		slices.Sort(expired)
		if want := []string{"bob:pears", "carol:plums"}; !slices.Equal(expired, want) {
			t.Errorf("OnExpired: got %v, want %v, each once over both servers", expired, want)
		}
		dave := client()
		if code, body := do(dave, 1, "POST", "/login", "user=dave"); code != http.StatusOK {
			t.Errorf("a login once the expired sessions were reaped: got %d %s, want 200", code, body)
		}
	})
}

// TestIsolation runs two applications on one database, with the same
// signing keys: neither sees, counts, lists, destroys or limits the other's
// sessions, even with a token copied from one to the other.
func TestIsolation(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		clock := fakeclock.New()
		keys := []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}
		db := pools(t, b, 1)[0]
		managers := map[string]*session.Manager{}
		for _, app := range []string{"a", "b"} {
			st := newStore(t, db, b.dialect, sqlstore.Config{Application: app, Now: clock.Now})
			m, err := session.New(session.Config{Store: st, Keys: keys, Now: clock.Now, MaxSessions: 1, ReapInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close() })
			managers[app] = m
		}
		// serve runs h through app's middleware with the cookie token, and
		// returns the token the response set, if any.
		serve := func(app, token string, h http.HandlerFunc) (string, int) {
			m := managers[app]
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			if token != "" {
				r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: token})
			}
			w := httptest.NewRecorder()
			m.Handler(h).ServeHTTP(w, r)
			for _, c := range w.Result().Cookies() {
				if c.MaxAge >= 0 {
					token = c.Value
				}
			}
			return token, w.Code
		}
		var handle string
		token, _ := serve("a", "", func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Login("ann", "")
			handle = s.Handle()
		})
		serve("b", token, func(w http.ResponseWriter, r *http.Request) {
			if user, _ := session.FromContext(r.Context()).User(); user != "" {
				t.Errorf("application b read user %q from a's token", user)
			}
		})
		mb := managers["b"]
		if n, _ := mb.Count(t.Context()); n != 0 {
			t.Errorf("application b counts %d sessions, want 0", n)
		}
		for info := range mb.Sessions(t.Context()) {
			t.Errorf("application b lists %+v", info)
		}
		if list, _ := mb.UserSessions(t.Context(), "ann"); len(list) != 0 {
			t.Errorf("application b lists ann's sessions: %+v", list)
		}
		if found, _ := mb.Destroy(t.Context(), handle); found {
			t.Error("application b destroyed a's session")
		}
		if _, code := serve("b", "", func(w http.ResponseWriter, r *http.Request) {
			_ = session.FromContext(r.Context()).Set("x", 1)
		}); code != http.StatusOK {
			t.Errorf("b's first session, under its own MaxSessions: got %d, want 200", code)
		}
		serve("a", token, func(w http.ResponseWriter, r *http.Request) {
			if user, _ := session.FromContext(r.Context()).User(); user != "ann" {
				t.Errorf("a's session after b's attempts: got user %q, want ann", user)
			}
		})
	})
}
