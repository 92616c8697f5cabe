package session_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/redistest"
	"github.com/seed58a3dad2/session/redisstore"
)

// Sequences of a Clear with logins, Adds, Takes, renewals and destroys in
// one request leave the request's view and the store (memstore, redisstore
// with Index on miniredis) with the same user, label and keys: a Clear keeps
// the login, made before or after it.
func TestClearSequences(t *testing.T) {
	stores := map[string]func(t *testing.T, cfg session.Config) *env{
		"memstore": func(t *testing.T, cfg session.Config) *env { return newEnv(t, cfg) },
		"redis": func(t *testing.T, cfg session.Config) *env {
			cfg.Store = redisstore.New(miniredisClient(t), redisstore.Config{Prefix: redistest.Prefix(t), Index: true})
			return newEnv(t, cfg)
		},
	}
	type seq struct {
		name      string
		maxKeys   int
		load      bool // read the session before the sequence; the loop runs both
		do        func(t *testing.T, s *session.Session)
		user, lbl string
		keys      string
	}
	seqs := []seq{
		{"clear login(no label) add", 0, false, func(t *testing.T, s *session.Session) {
			s.Clear()
			must(t, s.Login("bob", ""))
			_, err := s.Add("n", 1)
			must(t, err)
		}, "bob", "", "n"},
		{"login clear take", 0, false, func(t *testing.T, s *session.Session) {
			must(t, s.Login("bob", "lap"))
			s.Clear()
			var v int
			_, err := s.Take("a", &v)
			must(t, err)
		}, "bob", "lap", ""},
		{"login(no label) clear add", 0, false, func(t *testing.T, s *session.Session) {
			must(t, s.Login("bob", ""))
			s.Clear()
			_, err := s.Add("n", 1)
			must(t, err)
		}, "bob", "", "n"},
		{"login clear renew set", 0, true, func(t *testing.T, s *session.Session) {
			must(t, s.Login("bob", "lap"))
			s.Clear()
			must(t, s.Renew())
			must(t, s.Set("x", 1))
		}, "bob", "lap", "x"},
		{"clear add login", 0, false, func(t *testing.T, s *session.Session) {
			s.Clear()
			_, err := s.Add("n", 1)
			must(t, err)
			must(t, s.Login("bob", ""))
		}, "bob", "", "n"},
		{"clear set to maxkeys loaded", 4, true, func(t *testing.T, s *session.Session) {
			s.Clear()
			must(t, s.Set("x", 1))
			if err := s.Set("y", 1); err != nil {
				t.Log("y refused:", err)
			}
		}, "ann", "phone", "x,y"},
		{"login clear clear login", 0, true, func(t *testing.T, s *session.Session) {
			must(t, s.Login("bob", ""))
			s.Clear()
			s.Clear()
			must(t, s.Login("carl", "tab"))
			s.Clear()
		}, "carl", "tab", ""},
		{"clear set to maxkeys unloaded", 4, false, func(t *testing.T, s *session.Session) {
			s.Clear()
			must(t, s.Set("x", 1))
			if err := s.Set("y", 1); err != nil {
				t.Log("y refused:", err)
			}
		}, "ann", "phone", "x,y"},
		{"clear then destroy then login", 0, false, func(t *testing.T, s *session.Session) {
			s.Clear()
			s.Destroy()
			s.Clear()
			must(t, s.Login("bob", ""))
			s.Clear()
		}, "bob", "", ""},
		{"add, clear, take, login, add", 0, false, func(t *testing.T, s *session.Session) {
			_, err := s.Add("n", 1)
			must(t, err)
			s.Clear()
			var v int
			_, err = s.Take("a", &v)
			must(t, err)
			must(t, s.Login("bob", ""))
			_, err = s.Add("m", 1)
			must(t, err)
			s.Clear()
			_, err = s.Add("k", 1)
			must(t, err)
		}, "bob", "", "k"},
	}
	for sname, mk := range stores {
		for _, q0 := range seqs {
			for _, load := range []bool{false, true} {
				q := q0
				q.load = load
				t.Run(fmt.Sprint(sname, "/", q.name, "/load=", load), func(t *testing.T) {
					e := mk(t, session.Config{MaxKeys: q.maxKeys})
					c := e.client()
					c.get("/login?u=ann&label=phone")
					c.get("/set?k=a&v=1")
					var reqUser, reqKeys string
					c.serve(func(w http.ResponseWriter, r *http.Request) {
						s := session.FromContext(r.Context())
						if q.load {
							_, _ = s.Keys()
						}
						q.do(t, s)
						reqUser, _ = s.User()
						k, _ := s.Keys()
						reqKeys = strings.Join(k, ",")
					})
					var handle string
					c.serve(func(w http.ResponseWriter, r *http.Request) { handle = session.FromContext(r.Context()).Handle() })
					user, label := "", ""
					for _, u := range []string{"ann", "bob", "carl"} {
						list, err := e.m.UserSessions(t.Context(), u)
						must(t, err)
						for _, in := range list {
							if in.Handle == handle {
								user, label = in.User, in.Label
							}
						}
					}
					keys := c.get("/keys")
					got := c.get("/user")
					t.Logf("req user %q keys %q; store user %q/%q label %q keys %q", reqUser, reqKeys, user, got, label, keys)
					if user != q.user || label != q.lbl || keys != q.keys || reqUser != q.user || reqKeys != q.keys || got != q.user {
						t.Errorf("want user %q label %q keys %q", q.user, q.lbl, q.keys)
					}
				})
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A Clear after the headers went out is saved by the finish path, and
// keeps the login there too.
func TestClearAfterHeaders(t *testing.T) {
	for _, load := range []bool{false, true} {
		e := newEnv(t, session.Config{})
		c := e.client()
		c.get("/login?u=ann&label=phone")
		c.get("/set?k=a&v=1")
		var reqUser string
		var reqKeys []string
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			if load {
				_, _ = s.Keys()
			}
			w.WriteHeader(200)
			s.Clear()
			reqUser, _ = s.User()
			reqKeys, _ = s.Keys()
		})
		if reqUser != "ann" || len(reqKeys) != 0 {
			t.Errorf("load=%v: request saw %q %v", load, reqUser, reqKeys)
		}
		if u, k := c.get("/user"), c.get("/keys"); u != "ann" || k != "" {
			t.Errorf("load=%v: stored %q %q", load, u, k)
		}
	}
}
