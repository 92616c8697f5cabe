package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seed58a3dad2/session"
)

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
