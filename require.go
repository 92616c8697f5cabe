package session

import "net/http"

// Require is middleware for routes that need a live session. It answers 401
// with a JSON body when there is none:
//
//	{"error":"session_required","message":"..."}  no valid token came
//	{"error":"session_expired","message":"..."}   the token's session expired or was ended by the server
//
// It loads the session (one store round trip, which also renews the expiry
// when due), so handlers behind it read without another. Use it inside
// Manager.Handler; outside it answers 500 and reports the misconfiguration
// to Config.OnError.
func (m *Manager) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		if s == nil {
			m.misconfigured(w, r)
			return
		}
		live, gone, err := s.status()
		switch {
		case err != nil:
			return // the commit turns it into the ErrorHandler's response
		case gone:
			writeJSONError(w, http.StatusUnauthorized, "session_expired", "the session has expired or was ended; start a new one")
		case !live:
			writeJSONError(w, http.StatusUnauthorized, "session_required", "this request needs a session; none was sent")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// CloseHandler returns the logout ("close session") endpoint: a POST destroys
// the session, expires the cookie and answers 204 No Content, whether or not
// there was a session. Other methods get 405. Mount it inside
// Manager.Handler; outside it answers 500 and reports the misconfiguration
// to Config.OnError, since a 204 would tell the client it logged out when
// nothing happened.
func (m *Manager) CloseHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "close the session with POST")
			return
		}
		s := FromContext(r.Context())
		if s == nil {
			m.misconfigured(w, r)
			return
		}
		s.Destroy()
		w.WriteHeader(http.StatusNoContent)
	})
}

// misconfigured answers a request that reached Require or CloseHandler
// without passing through Handler.
func (m *Manager) misconfigured(w http.ResponseWriter, r *http.Request) {
	m.cfg.OnError(r, ErrNoMiddleware)
	writeJSONError(w, http.StatusInternalServerError, "session_unavailable", "the server is misconfigured")
}

// status loads the session and reports whether it is live, and whether a
// validly signed token named a session that is gone.
func (s *Session) status() (live, gone bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return false, false, err
	}
	return s.inStore(), s.tok == tokenGone, nil
}
