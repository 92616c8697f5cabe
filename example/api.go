package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/jsclient"
)

// maxBody bounds request bodies; the session's own limits apply on top.
const maxBody = 64 << 10

// newRouter returns the example's routes; with adminToken not empty, the
// /admin routes too.
func newRouter(m *session.Manager, adminToken string) http.Handler {
	r := chi.NewRouter()
	// The page at / and the client script hold no session, so they skip the
	// middleware: a request through it renews its session when due, which
	// costs a store write.
	r.Get("/", indexPage)
	script := jsclient.Handler()
	r.Handle("/session.js", script)
	r.Handle("/session.d.ts", script)
	r.Group(func(r chi.Router) {
		r.Use(m.Handler)
		// A plain form for browsers without JavaScript. It posts on the
		// cookie alone, so it gets a CSRF check.
		r.Get("/form", showForm)
		r.Method(http.MethodPost, "/form", http.NewCrossOriginProtection().Handler(http.HandlerFunc(postForm)))
		r.Route("/api", func(r chi.Router) {
			r.Post("/login", login)
			r.With(m.Require).Get("/whoami", whoami)
			r.Post("/counter", counter)
			r.Get("/values", allValues)
			r.Put("/values/{key}", putValue)
			r.Get("/values/{key}", getValue)
			r.Method(http.MethodPost, "/logout", m.CloseHandler())
			r.Method(http.MethodPost, "/keepalive", m.KeepAliveHandler())
			r.With(m.Require).Get("/devices", devices(m))
			r.With(m.Require).Post("/logout-others", logoutOthers(m))
		})
	})
	if adminToken != "" {
		r.Route("/admin", adminRoutes(m, adminToken))
	}
	return r
}

type userReply struct {
	User    string `json:"user"`
	Expires string `json:"expires"`
}

// login records the user under a new session ID (keeping the session's
// other values): the renewal defeats session fixation. The browser's
// User-Agent labels the session in the devices list.
func login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		User string `json:"user"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&body); err != nil || strings.TrimSpace(body.User) == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `send {"user":"name"}`)
		return
	}
	s := session.FromContext(r.Context())
	if err := s.Login(body.User, label(r.UserAgent())); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, userReply{body.User, expires(s)})
}

// label shortens a User-Agent to a label for the devices list.
func label(ua string) string {
	const max = 80
	if len(ua) > max {
		ua = ua[:max]
	}
	return strings.ToValidUTF8(ua, "")
}

// whoami answers who is logged in; Require already turned away requests
// without a live session.
func whoami(w http.ResponseWriter, r *http.Request) {
	s := session.FromContext(r.Context())
	if user, ok := loggedIn(w, s); ok {
		writeJSON(w, http.StatusOK, userReply{user, expires(s)})
	}
}

// loggedIn returns the user logged in to s, or answers 401 (or leaves the
// store's failure to the middleware) and reports false.
func loggedIn(w http.ResponseWriter, s *session.Session) (string, bool) {
	user, err := s.User()
	switch {
	case err != nil:
		return "", false // the middleware answers 503
	case user == "":
		writeError(w, http.StatusUnauthorized, "session_required", "log in first: POST /api/login")
		return "", false
	}
	return user, true
}

type device struct {
	Handle     string `json:"handle"`
	Created    string `json:"created"`
	LastAccess string `json:"last_access"`
	Expires    string `json:"expires"`
	Current    bool   `json:"current"`
}

// devices lists the logged-in user's sessions ("your devices"), marking the
// one that asks.
func devices(m *session.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		user, ok := loggedIn(w, s)
		if !ok {
			return
		}
		list, err := m.UserSessions(r.Context(), user)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "session_store_unavailable", err.Error())
			return
		}
		current := s.Handle()
		out := make([]device, len(list))
		for i, in := range list {
			out[i] = device{in.Handle, timestamp(in.Created), timestamp(in.LastAccess), timestamp(in.Expires), in.Handle == current}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// logoutOthers ends the logged-in user's other sessions.
func logoutOthers(m *session.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		user, ok := loggedIn(w, s)
		if !ok {
			return
		}
		n, err := m.DestroyUser(r.Context(), user, s)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "session_store_unavailable", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"ended": n})
	}
}

// counter adds one to the session's counter, atomically: concurrent calls
// never count one twice (Session.Add). A counter that cannot be read (an
// older version of the app stored something else under "n") starts over:
// the session and its other values live on.
func counter(w http.ResponseWriter, r *http.Request) {
	s := session.FromContext(r.Context())
	n, err := s.Add("n", 1)
	if errors.Is(err, session.ErrNotInteger) {
		n, err = 1, s.Set("n", 1)
	}
	switch {
	case errors.Is(err, session.ErrStore):
		return // the middleware answers 503
	case err != nil:
		writeError(w, http.StatusInternalServerError, "session_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"n": n})
}

func putValue(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than 64 KiB")
		return
	}
	if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, "invalid_json", "the body must be one JSON value")
		return
	}
	err = session.FromContext(r.Context()).Set(chi.URLParam(r, "key"), json.RawMessage(body))
	switch {
	case errors.Is(err, session.ErrInvalidKey), errors.Is(err, session.ErrValueTooLarge), errors.Is(err, session.ErrTooManyKeys):
		writeError(w, http.StatusBadRequest, "bad_value", err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, "session_error", err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func getValue(w http.ResponseWriter, r *http.Request) {
	var v json.RawMessage
	ok, err := session.FromContext(r.Context()).Get(chi.URLParam(r, "key"), &v)
	switch {
	case errors.Is(err, session.ErrStore):
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "session_error", err.Error())
	case !ok:
		writeError(w, http.StatusNotFound, "not_found", "no value under that key")
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(v)
	}
}

func allValues(w http.ResponseWriter, r *http.Request) {
	s := session.FromContext(r.Context())
	keys, err := s.Keys()
	if err != nil {
		return
	}
	out := make(map[string]json.RawMessage, len(keys))
	for _, k := range keys {
		var v json.RawMessage
		if _, err := s.Get(k, &v); err != nil {
			writeError(w, http.StatusInternalServerError, "session_error", err.Error())
			return
		}
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func expires(s *session.Session) string {
	return timestamp(s.ExpiresAt())
}

// timestamp formats t as Session-Expires does.
func timestamp(t time.Time) string {
	return t.UTC().Format(expiresLayout)
}

// expiresLayout is the layout of the Session-Expires header, RFC 3339 with
// milliseconds: the page shows the same instant.
const expiresLayout = "2006-01-02T15:04:05.000Z07:00"

// writeError answers {"error":code,"message":message}, the shape the
// session middleware's own errors have.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
