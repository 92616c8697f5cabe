package main

import (
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/seed58a3dad2/session"
)

// adminRoutes serves the administration of the application's sessions to
// requests that carry "Authorization: Bearer <token>":
//
//	GET    /admin/sessions           {"count":N,"sessions":[{"handle","user","created","last_access","expires"}]}
//	DELETE /admin/sessions/{handle}  end one session (204, or 404)
//	DELETE /admin/users/{user}       log a user out everywhere ({"ended":n})
func adminRoutes(m *session.Manager, token string) func(chi.Router) {
	return func(r chi.Router) {
		r.Use(requireBearer(token))
		r.Get("/sessions", listSessions(m))
		r.Delete("/sessions/{handle}", destroySession(m))
		r.Delete("/users/{user}", destroyUser(m))
	}
}

// requireBearer answers 401 to requests without the bearer token.
func requireBearer(token string) func(http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got := []byte(r.Header.Get("Authorization"))
			if subtle.ConstantTimeCompare(got, want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
				writeError(w, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

type adminSession struct {
	Handle     string `json:"handle"`
	User       string `json:"user"`
	Created    string `json:"created"`
	LastAccess string `json:"last_access"`
	Expires    string `json:"expires"`
}

func listSessions(m *session.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := struct {
			Count    int            `json:"count"`
			Sessions []adminSession `json:"sessions"`
		}{Sessions: []adminSession{}}
		for in, err := range m.Sessions(r.Context()) {
			if err != nil {
				writeError(w, http.StatusServiceUnavailable, "session_store_unavailable", err.Error())
				return
			}
			out.Sessions = append(out.Sessions, adminSession{in.Handle, in.User, timestamp(in.Created), timestamp(in.LastAccess), timestamp(in.Expires)})
		}
		out.Count = len(out.Sessions)
		writeJSON(w, http.StatusOK, out)
	}
}

func destroySession(m *session.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		found, err := m.Destroy(r.Context(), chi.URLParam(r, "handle"))
		switch {
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "session_store_unavailable", err.Error())
		case !found:
			writeError(w, http.StatusNotFound, "not_found", "no live session has that handle")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

func destroyUser(m *session.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user := chi.URLParam(r, "user")
		if u, err := url.PathUnescape(user); err == nil {
			user = u
		}
		n, err := m.DestroyUser(r.Context(), user, nil)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "session_store_unavailable", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"ended": n})
	}
}
