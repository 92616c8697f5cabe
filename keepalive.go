package session

import "net/http"

// KeepAliveHandler returns the keep-alive endpoint: a POST that renews the
// session's expiry and does nothing else, for a client that is in use but
// has no other call to make (the JavaScript client's keepAlive option). It
// answers like Require, and never creates a session:
//
//	204 No Content                             the session is live; its expiry was renewed if a touch was due
//	401 {"error":"session_expired",...}         the token's session expired or was ended by the server
//	401 {"error":"session_required",...}        no valid token came
//
// It costs one store round trip (a load that renews the expiry in the same
// call when due), none without a token. As on any request, the expiry moves
// only when the client's token is older than Config.TouchInterval: a
// keep-alive sent at least TouchInterval after the last renewal, such as one
// sent shortly before the session expires, always renews it. Other methods
// get 405. Mount it inside Manager.Handler; outside it answers 500 and
// reports the misconfiguration to Config.OnError.
func (m *Manager) KeepAliveHandler() http.Handler {
	renewed := m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "keep the session alive with POST")
			return
		}
		renewed.ServeHTTP(w, r)
	})
}
