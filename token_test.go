package session_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
)

func TestKeyRotation(t *testing.T) {
	oldKey := session.Key{Hash: []byte(strings.Repeat("o", 32))}
	newKey := session.Key{Hash: []byte(strings.Repeat("n", 32)), Block: []byte(strings.Repeat("b", 32))}
	e := newEnv(t, session.Config{Keys: []session.Key{oldKey}})
	c := e.client()
	c.get("/set?k=a&v=1")

	rotated, err := session.New(session.Config{Store: e.store, Keys: []session.Key{newKey, oldKey}, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rotated.Close() })
	e.m, e.h = rotated, rotated.Handler(testRoutes(rotated))
	t.Run("tokens signed by an older key still verify", func(t *testing.T) {
		if got := c.get("/get?k=a"); got != "1" {
			t.Fatalf("got %q, want 1", got)
		}
	})
	t.Run("new tokens are signed (and encrypted) by the newest key", func(t *testing.T) {
		e.clock.Advance(2 * time.Minute) // the write re-issues a token this old
		c.get("/set?k=b&v=2")
		newOnly, _ := session.New(session.Config{Store: e.store, Keys: []session.Key{newKey}, Now: e.clock.Now})
		t.Cleanup(func() { newOnly.Close() })
		e.m, e.h = newOnly, newOnly.Handler(testRoutes(newOnly))
		if got := c.get("/get?k=b"); got != "2" {
			t.Fatalf("got %q, want 2 with only the new key", got)
		}
	})
}

func TestIDBitsAreRandom(t *testing.T) {
	e := newEnv(t, session.Config{})
	var ones, zeros [128]int
	for range 200 {
		var id string
		e.client().serve(func(w http.ResponseWriter, r *http.Request) {
			s := session.FromContext(r.Context())
			_ = s.Set("a", 1)
			id = s.ID()
		})
		b, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(b) != 16 {
			t.Fatalf("ID %q: got %d bytes (%v), want 16", id, len(b), err)
		}
		for i := range 128 {
			if b[i/8]>>(i%8)&1 == 1 {
				ones[i]++
			} else {
				zeros[i]++
			}
		}
	}
	for i := range 128 { // a fixed bit in 200 random IDs: p = 2^-199
		if ones[i] == 0 || zeros[i] == 0 {
			t.Fatalf("bit %d never changes across 200 IDs", i)
		}
	}
}

func TestNewestKeyEncrypts(t *testing.T) {
	newKey := session.Key{Hash: []byte(strings.Repeat("n", 32)), Block: []byte(strings.Repeat("b", 32))}
	e := newEnv(t, session.Config{Keys: []session.Key{newKey}})
	c := e.client()
	c.get("/set?k=a&v=1")
	hashOnly, _ := session.New(session.Config{Store: e.store, Keys: []session.Key{{Hash: newKey.Hash}}, Now: e.clock.Now})
	t.Cleanup(func() { hashOnly.Close() })
	e.m, e.h = hashOnly, hashOnly.Handler(testRoutes(hashOnly))
	if got := c.get("/get?k=a"); got != "absent" {
		t.Fatalf("a manager without the AES key read %q: the token was not encrypted", got)
	}
}

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
