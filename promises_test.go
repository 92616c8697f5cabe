package session_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"encoding/base64"
	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/store"
	"net/http/httptest"
	"strings"
)

// Promises that a mutation of the code once survived: each test fails if the
// promise is broken.

// moveFails fails Move only: a Renew whose new session cannot be stored.
type moveFails struct{ store.Store }

func (moveFails) Move(context.Context, string, string, store.Delta, time.Duration, int) (bool, error) {
	return false, errDown
}

func TestRenewFailureKeepsTheOldSession(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=cart&v=3")
	inner := e.store.Store
	e.store.Store = moveFails{inner}
	if w := c.do(http.MethodGet, "/renew"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503", w.Code)
	}
	e.store.Store = inner
	if got := c.get("/get?k=cart"); got != "3" {
		t.Fatalf("after a failed Renew got cart=%q, want 3: the client was left with no session", got)
	}
}

// updateFails fails Update only.
type updateFails struct{ store.Store }

func (updateFails) Update(context.Context, string, store.Delta, time.Duration, int) (bool, error) {
	return false, errDown
}

func TestLateChangeStoreFailureIsReported(t *testing.T) {
	var reported []error
	e := newEnv(t, session.Config{OnError: func(r *http.Request, err error) { reported = append(reported, err) }})
	c := e.client()
	c.get("/set?k=a&v=1")
	e.store.Store = updateFails{e.store.Store}
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_ = session.FromContext(r.Context()).Set("late", true)
	})
	if len(reported) != 1 || !errors.Is(reported[0], session.ErrStore) {
		t.Fatalf("reported %v, want one error wrapping ErrStore", reported)
	}
}

func TestAYoungTokensWriteRenewsTheStoreExpiry(t *testing.T) {
	e := newEnv(t, session.Config{IdleTimeout: 20 * time.Minute, TouchInterval: time.Minute})
	c := e.client()
	c.get("/set?k=a&v=1")
	e.clock.Advance(30 * time.Second)
	c.get("/set?k=b&v=2")                         // young token: kept, but the store's expiry moves to +20m30s
	e.clock.Advance(20*time.Minute - time.Second) // past the token's expiry, before the store's
	if _, found, _ := e.mem.Load(context.Background(), tokenID(t, e, c.token), 0); !found {
		t.Fatal("the write did not renew the store's expiry")
	}
}

func TestRequireThenReadIsOneRoundTrip(t *testing.T) {
	e := newEnv(t, session.Config{TouchInterval: time.Minute})
	c := e.client()
	c.get("/set?k=a&v=1")
	e.store.Calls()
	c.serve(e.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, _ = session.Get[int](session.FromContext(r.Context()), "a")
	})).ServeHTTP)
	if calls := e.store.Calls(); !equalCalls(calls, []string{"Load"}) {
		t.Fatalf("got %v, want [Load]", calls)
	}
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

func TestResponseControllerUnwraps(t *testing.T) {
	e := newEnv(t, session.Config{})
	var err error
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
	})))
	defer srv.Close()
	resp, gerr := http.Get(srv.URL)
	if gerr != nil {
		t.Fatal(gerr)
	}
	resp.Body.Close()
	if err != nil {
		t.Fatalf("SetWriteDeadline through the wrapped writer: %v", err)
	}
}

func TestNewestKeyEncrypts(t *testing.T) {
	newKey := session.Key{Hash: []byte(strings.Repeat("n", 32)), Block: []byte(strings.Repeat("b", 32))}
	e := newEnv(t, session.Config{Keys: []session.Key{newKey}})
	c := e.client()
	c.get("/set?k=a&v=1")
	hashOnly, _ := session.New(session.Config{Store: e.store, Keys: []session.Key{{Hash: newKey.Hash}}, Now: e.clock.Now})
	e.m, e.h = hashOnly, hashOnly.Handler(testRoutes(hashOnly))
	if got := c.get("/get?k=a"); got != "absent" {
		t.Fatalf("a manager without the AES key read %q: the token was not encrypted", got)
	}
}

// upperCodec stores strings upper-cased: visible proof Config.Codec is used.
type upperCodec struct{ session.JSON }

func (u upperCodec) Marshal(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		v = strings.ToUpper(s)
	}
	return u.JSON.Marshal(v)
}

func TestConfigCodecIsUsed(t *testing.T) {
	e := newEnv(t, session.Config{Codec: upperCodec{}})
	c := e.client()
	c.get(`/set?k=u&v="ann"`)
	if got := c.get("/get?k=u"); got != `"ANN"` {
		t.Fatalf("got %s, want \"ANN\" from the configured codec", got)
	}
}

func TestAClientThatHangsUpAfterTheHandlerActedLosesNothing(t *testing.T) {
	e := newEnv(t, session.Config{})
	c := e.client()
	c.get("/set?k=a&v=1")
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: c.token})
	e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = session.FromContext(r.Context()).Set("paid", true)
		cancel() // the client hangs up after the handler acted
	})).ServeHTTP(httptest.NewRecorder(), r)
	if got := c.get("/get?k=paid"); got != "true" {
		t.Fatalf("got paid=%q, want true: the save was bound by the request's context", got)
	}
}
