package session_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed58a3dad2/session"
)

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
