package session

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/seed58a3dad2/session/store"
)

// ErrNoMiddleware is returned by the methods of a Session taken from a request
// that did not pass through Manager.Handler.
var ErrNoMiddleware = errors.New("session: no session on this request: wrap the handler with Manager.Handler")

// ErrStore wraps every failure of the store: the backend is down, slow, or
// the request was canceled. The default ErrorHandler answers it with 503.
var ErrStore = errors.New("session: session store unavailable")

// ErrDecode is returned by Session.Get (and Get) for a stored value the
// Codec cannot decode: written by an older version of the application, say.
// Only that read fails; Set or Delete of the key replaces the value. A
// handler that returns without writing a response after it gets the
// ErrorHandler's answer (500 by default) and its changes are not saved.
var ErrDecode = errors.New("session: stored value cannot be decoded")

// ErrInvalidKey is returned by Session.Set for an empty key, a key longer
// than Config.MaxKeyLength, or a key starting with '@' (reserved for the
// store's metadata).
var ErrInvalidKey = errors.New("session: invalid key")

// ErrValueTooLarge is returned by Session.Set when the encoded value is
// larger than Config.MaxValueSize.
var ErrValueTooLarge = errors.New("session: value too large")

// ErrTooManyKeys is returned by Session.Set, or by the commit at the end of
// the request, when the session would hold more than Config.MaxKeys keys. It
// is store.ErrTooManyKeys, so errors.Is matches either name.
var ErrTooManyKeys = store.ErrTooManyKeys

// ErrMaxSessions is the error a request that would store a session beyond
// Config.MaxSessions fails with, through the ErrorHandler (503). It is
// store.ErrMaxSessions, so errors.Is matches either name.
var ErrMaxSessions = store.ErrMaxSessions

// ErrHeadersSent is returned by Session.Renew, and passed to Config.OnError
// for other changes, when a change made after the response headers were sent
// needed a new token (a new, renewed or re-created session) that could no
// longer reach the client. The change is not saved: change sessions before
// writing the response.
var ErrHeadersSent = errors.New("session: change needs a new session token but the response headers were already sent")

// DefaultErrorHandler answers a store failure or Config.MaxSessions with 503
// Service Unavailable, an exceeded value limit with 413 Content Too Large,
// Config.MaxUserSessions with 403 Forbidden and a stored value that cannot
// be decoded with 500: as JSON {"error":"...","message":"..."} when
// the client accepts JSON, as plain text otherwise.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusServiceUnavailable, "session_store_unavailable", "the session store is unavailable, try again shortly"
	switch {
	case isLimitError(err):
		status, code, msg = http.StatusRequestEntityTooLarge, "session_too_large", err.Error()
	case errors.Is(err, ErrMaxSessions):
		code, msg = "too_many_sessions", "the server has too many sessions, try again later"
	case errors.Is(err, ErrTooManyUserSessions):
		status, code, msg = http.StatusForbidden, "too_many_user_sessions", "this user has too many sessions: log out on another device first"
	case errors.Is(err, ErrDecode):
		status, code, msg = http.StatusInternalServerError, "session_value_unreadable", "a value stored in the session cannot be read"
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if strings.Contains(r.Header.Get("Accept"), "json") {
		writeJSONError(w, status, code, msg)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

func isLimitError(err error) bool {
	return errors.Is(err, ErrTooManyKeys) || errors.Is(err, ErrValueTooLarge) || errors.Is(err, ErrInvalidKey)
}

// logError returns the default Config.OnError: it logs err with logger
// (slog.Default() when nil) at level Error, with the request's method and
// path but not its query, headers or cookies, where tokens travel.
func logError(logger *slog.Logger) func(r *http.Request, err error) {
	return func(r *http.Request, err error) {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		if r == nil {
			l.LogAttrs(context.Background(), slog.LevelError, "session error", slog.Any("err", err))
			return
		}
		l.LogAttrs(r.Context(), slog.LevelError, "session error",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
}

// redactID returns err with every ID among ids replaced by "[session ID]"
// in its message, for the errors the Manager hands on: a store's error may
// quote a session's ID (a Redis key name, say), and IDs are secrets that
// must not reach logs. errors.Is and errors.As still see err.
func redactID(err error, ids ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	redacted := msg
	for _, id := range ids {
		if id != "" {
			redacted = strings.ReplaceAll(redacted, id, "[session ID]")
		}
	}
	if redacted == msg {
		return err
	}
	return redactedError{err, redacted}
}

// redactedError is an error whose message has its session IDs redacted.
type redactedError struct {
	err error
	msg string
}

func (e redactedError) Error() string { return e.msg }

func (e redactedError) Unwrap() error { return e.err }

// writeJSONError writes {"error":code,"message":message} with status, the
// shape of every error this package answers with.
func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, message})
}
