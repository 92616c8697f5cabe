package session

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
)

// Handler is the middleware: it gives every request a *Session (see
// FromContext) and saves it when the response starts. Use it with chi as
// r.Use(m.Handler), or around any http.Handler.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One allocation for the handle and the writer, which live and die
		// with the request.
		rs := &requestState{}
		s, rw := &rs.session, &rs.writer
		m.start(s, r)
		rs.ctx = sessionContext{Context: r.Context(), s: s}
		r = r.WithContext(&rs.ctx)
		s.ctx = r.Context()
		rw.ResponseWriter, rw.s, rw.r = w, s, r
		next.ServeHTTP(rw, r)
		if !rw.wroteHeader {
			rw.WriteHeader(http.StatusOK)
		} else if !rw.replaced {
			s.finish(r)
		}
	})
}

type requestState struct {
	ctx     sessionContext
	session Session
	writer  responseWriter
}

// errReplaced is returned by writes of a handler whose response was replaced
// by the ErrorHandler's because the session could not be saved.
var errReplaced = errors.New("session: response replaced by the session ErrorHandler: the session could not be saved")

// responseWriter saves the session just before the response headers go out,
// while a new token can still reach the client.
type responseWriter struct {
	http.ResponseWriter
	s           *Session
	r           *http.Request
	wroteHeader bool
	replaced    bool // the ErrorHandler answered: the handler's output is dropped
}

// WriteHeader commits the session, then sends the headers; if the commit
// fails the ErrorHandler's response goes out instead.
func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		if !w.replaced {
			w.ResponseWriter.WriteHeader(code) // net/http reports the superfluous call
		}
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: the real header comes later
		return
	}
	w.wroteHeader = true
	h := w.Header()
	if err := w.s.commit(h, w.r); err != nil {
		w.replaced = true
		clear(h)
		w.s.m.cfg.ErrorHandler(w.ResponseWriter, w.r, err)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write commits the session first if the handler did not call WriteHeader.
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return 0, errReplaced
	}
	return w.ResponseWriter.Write(b)
}

// WriteString lets io.WriteString skip a copy when the writer underneath can.
func (w *responseWriter) WriteString(str string) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return 0, errReplaced
	}
	return io.WriteString(w.ResponseWriter, str)
}

// ReadFrom keeps sendfile and splice working for handlers that use io.Copy.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return 0, errReplaced
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// writerOnly hides every method but Write, so io.Copy cannot loop back into
// ReadFrom.
type writerOnly struct{ io.Writer }

// Flush commits the session, sends the headers and flushes.
func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.replaced {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Hijack saves the session, then hands over the connection. Headers the
// session would have set are not sent: the handler writes what it likes.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.replaced {
		return nil, nil, errReplaced
	}
	if !w.wroteHeader {
		if err := w.s.commit(w.Header(), w.r); err != nil {
			return nil, nil, err
		}
		w.wroteHeader = true
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
