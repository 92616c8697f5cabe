package session_test

import (
	"bufio"
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
