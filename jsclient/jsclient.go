// Package jsclient serves the JavaScript client of the session middleware:
// an ES module, with no build step, that speaks the Session-Id protocol, and
// its TypeScript declarations. Besides keeping the token, the client can keep
// its session alive while the page is in use (keepAlive, against
// Manager.KeepAliveHandler) and log in again when a call needs it
// (onLoginNeeded, which has the call sent once more).
package jsclient

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"path"
	"strings"
	"time"
)

// The JavaScript client and its TypeScript types, served by Handler.
//
//go:embed session.js session.d.ts
var files embed.FS

// Handler serves the JavaScript client, an ES module that speaks the
// Session-Id protocol: it keeps the token, honours Session-Expires, clears the
// token on a session_expired answer and closes the session with
// closeSession(). With its keepAlive option it POSTs to
// Manager.KeepAliveHandler shortly before the session expires, while the page
// is visible and was given input lately; with onLoginNeeded it logs in when a
// call answers 401 session_expired or session_required, and sends that call
// once more. A request whose path ends in "session.d.ts" gets its
// TypeScript declarations; any other path gets the module, so mount it at
// any path:
//
//	mux.Handle("GET /session.js", jsclient.Handler())
//	mux.Handle("GET /session.d.ts", jsclient.Handler())
//	mux.Handle("POST /api/keepalive", m.Handler(m.KeepAliveHandler()))
//
// and in the page:
//
//	import { SessionClient } from "/session.js";
//	const client = new SessionClient({ keepAlive: { url: "/api/keepalive" } });
//
// Responses carry a strong ETag and Cache-Control: no-cache, so browsers
// revalidate (a 304 answer) and never run a client older than the server;
// Access-Control-Allow-Origin: * lets pages of other origins import the
// module, which holds no secret. Methods other than GET and HEAD get 405.
func Handler() http.Handler {
	js := newStaticFile("session.js", "text/javascript; charset=utf-8")
	dts := newStaticFile("session.d.ts", "application/typescript; charset=utf-8")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		if strings.HasSuffix(r.URL.Path, "session.d.ts") {
			dts.serve(w, r)
			return
		}
		js.serve(w, r)
	})
}

// staticFile is an embedded file with its validator, computed once.
type staticFile struct {
	name, contentType, etag string
	content                 []byte
}

func newStaticFile(name, contentType string) *staticFile {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("jsclient: embedded " + name + " missing: " + err.Error()) // a broken build, not a runtime condition
	}
	sum := sha256.Sum256(b)
	return &staticFile{
		name:        path.Base(name),
		contentType: contentType,
		etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`,
		content:     b,
	}
}

// serve answers with the file; http.ServeContent handles If-None-Match (304),
// HEAD and ranges.
func (f *staticFile) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.content))
}
