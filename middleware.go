package session

// One request through the middleware, file by file:
//
//  1. middleware.go  Handler makes the request's state in one allocation:
//     start reads the token (transport.go readToken, which verifies it with
//     token.go verify, through the verified-token cache) and sets up the
//     *Session (session.go) with no store call at all.
//  2. context.go     the *Session rides in the request context; FromContext.
//  3. session.go     the handler reads and writes through the handle: the
//     first read loads the session (load.go), writes are recorded as a
//     change (change.go), Renew and Destroy are recorded for the commit.
//  4. middleware.go  the responseWriter's first WriteHeader, Write,
//     ReadFrom, Flush or Hijack calls commit before anything goes out.
//  5. commit.go      commit saves to the store (create, move, update or
//     touch, then delete), then transport.go writeHeaders sets Set-Cookie,
//     Session-Id, Session-Expires, Vary and CORS exposure.
//  6. middleware.go  when the handler returns: commit if it never wrote;
//     finish (commit.go) saves changes made after the headers went out;
//     abandon (commit.go) if it panicked.

import (
	"bufio"
	"errors"
	"hash/maphash"
	"io"
	"net"
	"net/http"
	"slices"
)

// Handler is the middleware: it gives every request a *Session (see
// FromContext) and saves it when the response starts. Use it with chi as
// r.Use(m.Handler), or around any http.Handler.
//
// Put a panic-recovering middleware outside it (chi: r.Use(Recoverer)
// before r.Use(m.Handler)): a handler that panics then has its session
// changes discarded and its destroys carried out. A recoverer inside it
// turns the panic into a 500 response, which discards the changes too: any
// 5xx response does.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One allocation for the handle, its context and the writer, which
		// live and die with the request.
		if FromContext(r.Context()) != nil {
			// Mounted twice (a router's Use and a group's): the outer one
			// serves the request.
			next.ServeHTTP(w, r)
			return
		}
		rs := &requestState{}
		s, rw := &rs.session, &rs.writer
		rs.ctx = sessionContext{Context: r.Context(), s: s}
		r = r.WithContext(&rs.ctx)
		m.start(s, r)
		rw.ResponseWriter, rw.s = w, s
		rw.outer.save(w.Header(), m.cache.seed)

		returned := false
		defer func() {
			if !returned {
				s.abandon(r)
			}
			if m.obs != nil {
				m.obs.request(r.Context(), s.finalOutcome())
			}
		}()
		next.ServeHTTP(rw, r)
		returned = true
		rw.handlerReturned()
	})
}

type requestState struct {
	ctx     sessionContext
	session Session
	writer  responseWriter
}

// start sets up the handle for a request from its token, without any store
// call: a missing or bad token means no session, a good one a session that
// is presumed to exist until the store says otherwise.
func (m *Manager) start(s *Session, r *http.Request) {
	s.m, s.req = m, r
	s.loaded = true // a new session holds nothing; a stored one is loaded lazily
	vt, tok, src, more := m.readToken(r)
	s.tok, s.source = tok, src
	if tok != tokenValid {
		return
	}
	if more {
		s.others = m.otherTokens(r, vt)
	}
	s.use(vt)
}

// use makes a verified token's session the handle's: presumed stored until
// the store says otherwise, unless the token alone shows it is past its
// Lifetime.
func (s *Session) use(vt *verifiedToken) {
	m := s.m
	s.created = vt.created
	// Without a Lifetime only the store can tell that a session ended: the
	// clock is left unread (some 50 ns a read on the benchmark machine).
	if m.cfg.Lifetime > 0 && s.lifetimeOver(m.cfg.Now()) {
		s.tok = tokenGone // past its absolute Lifetime: gone for sure, no need to ask
		return
	}
	s.tok = tokenValid
	s.state, s.id, s.issued = stateStored, vt.id, vt.issued
	s.expires, s.token = vt.expiry, vt
	s.loaded = false
}

// next turns to the next session cookie the request sent that verified,
// when the one in use named a session that is gone and nothing was read
// from it; it reports whether there was one. s.mu must be held.
func (s *Session) next() bool {
	for len(s.others) > 0 && s.state == stateStored && !s.loaded {
		vt := s.others[0]
		s.others = s.others[1:]
		if s.use(vt); s.tok == tokenValid {
			return true
		}
	}
	return false
}

// ErrResponseReplaced is returned by the Write, WriteString, ReadFrom,
// FlushError and Hijack methods of the ResponseWriter a handler gets from
// Manager.Handler (and so by http.ResponseController) after its
// response was replaced by the ErrorHandler's, because the session could not
// be saved when the response started. The handler should stop writing.
var ErrResponseReplaced = errors.New("session: response replaced by the session ErrorHandler: the session could not be saved")

// responseWriter saves the session just before the response headers go out,
// while a new token can still reach the client. Every write path goes
// through begin, as in chi's wrap_writer. Its request is s.req.
type responseWriter struct {
	http.ResponseWriter
	s           *Session
	outer       outerHeaders // what the response had before the handler ran
	status      int          // the status the handler chose
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
	w.wroteHeader, w.status = true, code
	h := w.Header()
	if err := w.s.commit(h, w.s.req, code); err != nil {
		w.replaced = true
		w.outer.restore(h, w.s.m.cache.seed)
		w.s.headersAfterFailure(h, w.s.req)
		w.s.m.cfg.ErrorHandler(w.ResponseWriter, w.s.req, err)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// begin sends the headers, committing the session, if the handler did not
// call WriteHeader, and reports whether the handler's output may go out.
func (w *responseWriter) begin() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return ErrResponseReplaced
	}
	return nil
}

// Write commits the session first if the handler did not call WriteHeader.
func (w *responseWriter) Write(b []byte) (int, error) {
	if err := w.begin(); err != nil {
		return 0, err
	}
	return w.ResponseWriter.Write(b)
}

// WriteString lets io.WriteString skip a copy when the writer underneath can.
func (w *responseWriter) WriteString(str string) (int, error) {
	if err := w.begin(); err != nil {
		return 0, err
	}
	return io.WriteString(w.ResponseWriter, str)
}

// ReadFrom keeps sendfile and splice working for handlers that use io.Copy.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if err := w.begin(); err != nil {
		return 0, err
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// writerOnly hides every method but Write, so io.Copy cannot loop back into
// ReadFrom.
type writerOnly struct{ io.Writer }

// FlushError commits the session, sends the headers and flushes, reporting
// a writer underneath that cannot flush: http.ResponseController.Flush
// calls it.
func (w *responseWriter) FlushError() error {
	if err := w.begin(); err != nil {
		return err
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for the http.Flusher interface, which has no error.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Hijack saves the session, then hands over the connection. Headers the
// session would have set are not sent: the handler writes what it likes.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.replaced {
		return nil, nil, ErrResponseReplaced
	}
	if !w.wroteHeader {
		if err := w.s.commit(w.Header(), w.s.req, http.StatusSwitchingProtocols); err != nil {
			return nil, nil, err
		}
		w.wroteHeader, w.status = true, http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handlerReturned ends the request. A handler that wrote nothing gets its
// session committed with an empty 200, unless a value it read could not be
// decoded: an empty 200 would hide that, so the ErrorHandler answers. A
// handler that wrote gets its late changes saved (finish).
func (w *responseWriter) handlerReturned() {
	switch {
	case !w.wroteHeader:
		if err := w.s.unansweredReadError(); err != nil {
			w.outer.restore(w.Header(), w.s.m.cache.seed) // nothing the failed handler added goes out
			w.s.m.cfg.ErrorHandler(w, w.s.req, err)
			if w.wroteHeader {
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	case !w.replaced:
		w.s.finish(w.s.req, w.status >= 500)
	}
}

// outerHeaders remembers which headers a response had when the middleware
// got it: those of middleware outside this one (CORS, security headers).
// When the ErrorHandler answers instead of the handler, those stay (with
// whatever values they have then) and the headers the handler added go.
// Up to eight are remembered by a hash of their names, without allocating
// or giving the garbage collector pointers to follow; more, in a map.
type outerHeaders struct {
	n    int
	keys [8]uint64
	more map[string]bool // all of them, when there were more than eight
}

func (o *outerHeaders) save(h http.Header, seed maphash.Seed) {
	if len(h) > len(o.keys) {
		o.more = make(map[string]bool, len(h))
		for k := range h {
			o.more[k] = true
		}
		return
	}
	for k := range h {
		o.keys[o.n] = maphash.String(seed, k)
		o.n++
	}
}

func (o *outerHeaders) restore(h http.Header, seed maphash.Seed) {
	for k := range h {
		if !o.had(k, seed) {
			delete(h, k)
		}
	}
}

func (o *outerHeaders) had(k string, seed maphash.Seed) bool {
	if o.more != nil {
		return o.more[k]
	}
	sum := maphash.String(seed, k)
	return slices.Contains(o.keys[:o.n], sum)
}
