package jsclient_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed58a3dad2/session/jsclient"
)

func TestHandler(t *testing.T) {
	h := jsclient.Handler()
	get := func(method, target string, header http.Header) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, target, nil)
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	js := get("GET", "/session.js", nil)
	t.Run("serves the module as JavaScript with a validator", func(t *testing.T) {
		if js.Code != 200 {
			t.Fatalf("got %d, want 200", js.Code)
		}
		if got := js.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
			t.Fatalf("got Content-Type %q", got)
		}
		if !strings.Contains(js.Body.String(), "export class SessionClient extends EventTarget") {
			t.Fatal("the body is not the client module")
		}
		if got := js.Header().Get("ETag"); len(got) < 10 || got[0] != '"' {
			t.Fatalf("got ETag %q, want a strong validator", got)
		}
		if got := js.Header().Get("Cache-Control"); got != "no-cache" {
			t.Fatalf("got Cache-Control %q, want no-cache", got)
		}
		if got := js.Header().Get("Access-Control-Allow-Origin"); got != "*" {
			t.Fatalf("got Access-Control-Allow-Origin %q, want *", got)
		}
	})
	t.Run("a matching If-None-Match gets 304 without a body", func(t *testing.T) {
		w := get("GET", "/session.js", http.Header{"If-None-Match": {js.Header().Get("ETag")}})
		if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Fatalf("got %d with %d bytes, want 304 and none", w.Code, w.Body.Len())
		}
	})
	t.Run("HEAD gets the headers only", func(t *testing.T) {
		w := get("HEAD", "/static/session.js", nil)
		if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("ETag") != js.Header().Get("ETag") {
			t.Fatalf("got %d, %d bytes, ETag %q", w.Code, w.Body.Len(), w.Header().Get("ETag"))
		}
	})
	t.Run("session.d.ts gets the TypeScript declarations", func(t *testing.T) {
		w := get("GET", "/static/session.d.ts", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "export declare class SessionClient") {
			t.Fatalf("got %d %.80q", w.Code, w.Body.String())
		}
		if got := w.Header().Get("Content-Type"); got != "application/typescript; charset=utf-8" {
			t.Fatalf("got Content-Type %q", got)
		}
		if w.Header().Get("ETag") == js.Header().Get("ETag") {
			t.Fatal("the two files share an ETag")
		}
	})
	t.Run("other methods get 405", func(t *testing.T) {
		w := get("POST", "/session.js", nil)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Fatalf("got %d, Allow %q", w.Code, w.Header().Get("Allow"))
		}
	})
}

// The JavaScript client is served by the package itself; pages import it as
// an ES module.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET /session.js", jsclient.Handler())
	mux.Handle("GET /session.d.ts", jsclient.Handler())

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/session.js", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	// Output: 200 text/javascript; charset=utf-8
}
