package session_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/seed58a3dad2/session"
)

// FuzzToken sends arbitrary tokens in the cookie and the header: never a
// panic, never a 5xx, and never a session unless the token is one the server
// issued.
func FuzzToken(f *testing.F) {
	e := newEnv(f, session.Config{})
	c := e.client()
	c.get("/set?k=a&v=1")
	f.Add(c.token)
	f.Add("")
	f.Add("|||")
	f.Add(strings.Repeat("A", 2000))
	f.Add(c.token[:len(c.token)/2])
	f.Fuzz(func(t *testing.T, tok string) {
		for _, header := range []bool{false, true} {
			r := httptest.NewRequest(http.MethodGet, "/get?k=a", nil)
			if header {
				r.Header[session.HeaderID] = []string{tok}
			} else {
				r.Header.Set("Cookie", "session="+tok)
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("token %q: got %d", tok, w.Code)
			}
			if w.Code == http.StatusOK && tok != c.token && strings.Trim(tok, `"`) != c.token {
				t.Fatalf("token %q reached the session of %q", tok, c.token)
			}
		}
	})
}

// FuzzValueDecoding stores arbitrary bytes as a value, as a service not
// written in Go might, and reads them back: the session decodes exactly what
// encoding/json decodes, and reports an error where it fails; never a panic.
func FuzzValueDecoding(f *testing.F) {
	for _, s := range []string{`"text"`, `42`, `{"a":[1,2]}`, `null`, `{`, "\xff\xfe", ``, `"a\u00e9"`, `-0`, `1e400`} {
		f.Add([]byte(s))
	}
	e := newEnv(f, session.Config{})
	c := e.client()
	c.get("/set?k=a&v=1")
	id := tokenID(f, e, c.token)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := e.mem.Update(t.Context(), id, storeDelta("v", raw), 1<<40, 0); err != nil {
			t.Fatal(err)
		}
		var want any
		wantErr := json.Unmarshal(raw, &want)
		te := *e
		te.t = t // helpers inside the target report to t, not f
		c := &client{e: &te, token: c.token}
		c.serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			got, ok, err := session.Get[any](s, "v")
			if (err == nil) != (wantErr == nil) || (err == nil && (!ok || !reflect.DeepEqual(got, want))) {
				t.Errorf("Get[any](%q): got %v %v %v, want %v %v", raw, got, ok, err, want, wantErr)
			}
			if err != nil && !errors.Is(err, session.ErrDecode) {
				t.Errorf("Get[any](%q): got error %v, want one wrapping ErrDecode", raw, err)
			}
			var wantS string
			errS := json.Unmarshal(raw, &wantS)
			gotS, _, err := session.Get[string](s, "v")
			if (err == nil) != (errS == nil) || gotS != wantS {
				t.Errorf("Get[string](%q): got %q %v, want %q %v", raw, gotS, err, wantS, errS)
			}
			_, _, _ = session.Get[map[string][]float64](s, "v")
			_, _, _ = session.Get[[]byte](s, "v")
			fmt.Fprint(w, "handled") // errors answered: the request lives on
		})
		if c.last.Code != http.StatusOK {
			t.Fatalf("got %d", c.last.Code)
		}
	})
}
