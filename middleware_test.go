package session_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/seed58a3dad2/session"
)

func TestMiddlewareServesChiAndServeMux(t *testing.T) {
	e := newEnv(t, session.Config{})
	count := func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		n, _, _ := session.Get[int](s, "n")
		_ = s.Set("n", n+1)
		w.Write([]byte{byte('0' + n + 1)})
	}
	chiRouter := chi.NewRouter()
	chiRouter.Use(e.m.Handler)
	chiRouter.Post("/count", count)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /count", count)

	for name, h := range map[string]http.Handler{"chi": chiRouter, "ServeMux": e.m.Handler(mux)} {
		t.Run(name+" handlers reach the session through the request context", func(t *testing.T) {
			e.h = h
			c := e.client()
			for want := 1; want <= 3; want++ {
				if got := c.do(http.MethodPost, "/count").Body.String(); got != string(rune('0'+want)) {
					t.Fatalf("request %d: got %q, want %d", want, got, want)
				}
			}
		})
	}
}

func TestResponseControllerUnwraps(t *testing.T) {
	e := newEnv(t, session.Config{})
	var err error
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
	})))
	defer srv.Close()
	resp, gerr := http.Get(srv.URL)
	if gerr != nil {
		t.Fatal(gerr)
	}
	resp.Body.Close()
	if err != nil {
		t.Fatalf("SetWriteDeadline through the wrapped writer: %v", err)
	}
}

func TestWrappedWriter(t *testing.T) {
	e := newEnv(t, session.Config{})

	t.Run("Flush commits the session and streams", func(t *testing.T) {
		c := e.client()
		w := c.serve(func(w http.ResponseWriter, r *http.Request) {
			_ = session.FromContext(r.Context()).Set("a", 1)
			w.(http.Flusher).Flush()
		})
		if !w.Flushed || c.token == "" {
			t.Fatalf("flushed %v, token %q", w.Flushed, c.token)
		}
	})
	t.Run("http.ResponseController reaches the writer underneath", func(t *testing.T) {
		e.client().serve(func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
			if _, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok {
				t.Error("no Unwrap")
			}
		})
	})
	t.Run("ReadFrom commits the session and copies", func(t *testing.T) {
		c := e.client()
		w := c.serve(func(w http.ResponseWriter, r *http.Request) {
			_ = session.FromContext(r.Context()).Set("a", 1)
			n, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader("payload"))
			if n != 7 || err != nil {
				t.Errorf("got %d %v", n, err)
			}
		})
		if w.Body.String() != "payload" || c.token == "" {
			t.Fatalf("got %q, token %q", w.Body, c.token)
		}
	})
	t.Run("Hijack saves the session and hands over the connection", func(t *testing.T) {
		var saved bool
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("ws", true)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			_, found, _ := e.mem.Load(r.Context(), s.ID(), 0)
			saved = found
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
			buf.Flush()
		}))
		srv := httptest.NewServer(h)
		defer srv.Close()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "hi" || !saved {
			t.Fatalf("got %q, saved before hijack %v", body, saved)
		}
	})
	t.Run("a handler that writes nothing still commits", func(t *testing.T) {
		c := e.client()
		w := c.serve(func(w http.ResponseWriter, r *http.Request) {
			_ = session.FromContext(r.Context()).Set("a", 1)
		})
		if w.Code != http.StatusOK || c.token == "" {
			t.Fatalf("got %d, token %q", w.Code, c.token)
		}
	})
	t.Run("the status code the handler chose goes out", func(t *testing.T) {
		w := e.client().serve(func(w http.ResponseWriter, r *http.Request) {
			_ = session.FromContext(r.Context()).Set("a", 1)
			w.WriteHeader(http.StatusCreated)
		})
		if w.Code != http.StatusCreated || cookieOf(w, "session") == nil {
			t.Fatalf("got %d, cookies %v", w.Code, w.Result().Cookies())
		}
	})
}

func TestHijackAfterAReplacedResponseIsRefused(t *testing.T) {
	e := newEnv(t, session.Config{Store: failingStore{errDown}})
	var hijackErr error
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = session.FromContext(r.Context()).Set("a", 1)
		w.WriteHeader(http.StatusOK) // the save fails: a 503 goes out instead
		var conn net.Conn
		conn, _, hijackErr = w.(http.Hijacker).Hijack()
		if conn != nil {
			conn.Write([]byte("handler bytes"))
			conn.Close()
		}
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(bufio.NewReader(resp.Body))
	resp.Body.Close()
	if hijackErr == nil || resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(body), "handler bytes") {
		t.Fatalf("got Hijack error %v, status %d, body %q", hijackErr, resp.StatusCode, body)
	}
}

// TestPanics: a handler that panics may have changed the session halfway. Its
// changes are discarded; its destroys (a logout) are carried out.
func TestPanics(t *testing.T) {
	var reported []error
	newPanicEnv := func(t *testing.T) *env {
		reported = nil
		return newEnv(t, session.Config{OnError: func(r *http.Request, err error) { reported = append(reported, err) }})
	}
	serveAndRecover := func(c *client, h http.HandlerFunc) {
		defer func() { _ = recover() }()
		c.serve(h)
	}

	t.Run("a Destroy before the panic still ends the session", func(t *testing.T) {
		e := newPanicEnv(t)
		c := e.client()
		c.get("/set?k=user&v=1")
		serveAndRecover(c, func(w http.ResponseWriter, r *http.Request) {
			session.FromContext(r.Context()).Destroy()
			panic("after logout")
		})
		if got := c.get("/get?k=user"); got != "absent" {
			t.Fatalf("got user=%s, want absent: the logout was lost", got)
		}
	})
	t.Run("a change before the panic is not saved, and OnError hears of it", func(t *testing.T) {
		e := newPanicEnv(t)
		c := e.client()
		c.get("/set?k=user&v=1")
		serveAndRecover(c, func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Renew()
			_ = s.Set("user", 2)
			panic("half-done login")
		})
		if got := c.get("/get?k=user"); got != "1" {
			t.Fatalf("got user=%s, want 1: a half-done change was saved", got)
		}
		if len(reported) != 1 {
			t.Fatalf("OnError got %v, want one report of the discarded change", reported)
		}
	})
	t.Run("a change after the headers went out, then a panic, is reported", func(t *testing.T) {
		e := newPanicEnv(t)
		c := e.client()
		c.get("/set?k=user&v=1")
		serveAndRecover(c, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_ = session.FromContext(r.Context()).Set("user", 2)
			panic("late")
		})
		if got := c.get("/get?k=user"); got != "1" {
			t.Fatalf("got user=%s, want 1", got)
		}
		if len(reported) != 1 {
			t.Fatalf("OnError got %v, want one report of the discarded change", reported)
		}
	})
	t.Run("a recoverer inside the middleware answers 500, which saves no change but keeps a destroy", func(t *testing.T) {
		e := newPanicEnv(t)
		recoverer := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() {
					if recover() != nil {
						http.Error(w, "oops", http.StatusInternalServerError)
					}
				}()
				next.ServeHTTP(w, r)
			})
		}
		c := e.client()
		c.get("/set?k=user&v=1")
		w := c.serve(recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Renew()
			_ = s.Set("user", 2)
			panic("half-done login")
		})).ServeHTTP)
		if w.Code != http.StatusInternalServerError {
			t.Fatalf("got %d, want the recoverer's 500", w.Code)
		}
		if got := c.get("/get?k=user"); got != "1" {
			t.Fatalf("got user=%s, want 1: a half-done change was saved", got)
		}
		other := e.client()
		other.get("/set?k=user&v=1")
		other.serve(recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			session.FromContext(r.Context()).Destroy()
			panic("after logout")
		})).ServeHTTP)
		if got := other.get("/get?k=user"); got != "absent" {
			t.Fatalf("got user=%s, want absent: the logout was lost", got)
		}
	})
	t.Run("a 5xx answer saves no change", func(t *testing.T) {
		e := newPanicEnv(t)
		c := e.client()
		c.get("/set?k=user&v=1")
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			_ = session.FromContext(r.Context()).Set("user", 2)
			http.Error(w, "the database is down", http.StatusServiceUnavailable)
		})
		if got := c.get("/get?k=user"); got != "1" {
			t.Fatalf("got user=%s, want 1", got)
		}
	})
}

// plainWriter is a ResponseWriter that can do nothing else: no Flush, no
// Hijack, no Unwrap.
type plainWriter struct{ w http.ResponseWriter }

func (p plainWriter) Header() http.Header         { return p.w.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.w.WriteHeader(code) }

func TestFlushError(t *testing.T) {
	t.Run("Flush through http.ResponseController reports a writer underneath that cannot flush", func(t *testing.T) {
		e := newEnv(t, session.Config{})
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).Flush(); !errors.Is(err, http.ErrNotSupported) {
				t.Errorf("got %v, want http.ErrNotSupported", err)
			}
		}))
		h.ServeHTTP(plainWriter{httptest.NewRecorder()}, httptest.NewRequest(http.MethodGet, "/", nil))
	})
	t.Run("a replaced response reports ErrResponseReplaced", func(t *testing.T) {
		e := newEnv(t, session.Config{Store: failingStore{errDown}})
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = session.FromContext(r.Context()).Set("a", 1)
			if _, err := w.Write([]byte("x")); !errors.Is(err, session.ErrResponseReplaced) {
				t.Errorf("Write: got %v, want ErrResponseReplaced", err)
			}
			if err := http.NewResponseController(w).Flush(); !errors.Is(err, session.ErrResponseReplaced) {
				t.Errorf("Flush: got %v, want ErrResponseReplaced", err)
			}
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("got %d, want 503", w.Code)
		}
	})
}

// TestErrorHandlerKeepsHeadersSetOutsideTheMiddleware: the README puts the
// CORS middleware outside m.Handler. When the session cannot be saved the
// ErrorHandler's 503 replaces the handler's response, but the headers an
// outer middleware set before calling in (CORS, security headers) are not
// the handler's: without Access-Control-Allow-Origin a script on another
// origin cannot read the 503 at all (fetch rejects with a network error).
func TestErrorHandlerKeepsHeadersSetOutsideTheMiddleware(t *testing.T) {
	e := newEnv(t, session.Config{Store: failingStore{errDown}})
	outer := func(next http.Handler) http.Handler { // what go-chi/cors does for an allowed origin
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "https://app.example.com")
			w.Header().Set("X-Frame-Options", "DENY")
			next.ServeHTTP(w, r)
		})
	}
	h := outer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = session.FromContext(r.Context()).Set("a", 1)
		w.Header().Set("Content-Type", "text/html") // the handler's own: must go
		w.Write([]byte("handler"))
	})))
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Accept", "application/json")
	r.Header.Set(session.HeaderID, "")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want the ErrorHandler's 503", w.Code)
	}
	for k, want := range map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "X-Frame-Options": "DENY"} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: got %q, want %q, set outside the middleware", k, got, want)
		}
	}
}
