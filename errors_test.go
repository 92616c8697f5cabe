package session_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed58a3dad2/session"
)

func TestDefaultErrorHandler(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("%w: load: %w", session.ErrStore, errDown), http.StatusServiceUnavailable, "session_store_unavailable"},
		{fmt.Errorf("%w: the limit is 3", session.ErrTooManyKeys), http.StatusRequestEntityTooLarge, "session_too_large"},
		{fmt.Errorf("%w: %q", session.ErrValueTooLarge, "k"), http.StatusRequestEntityTooLarge, "session_too_large"},
		{fmt.Errorf("%w: %q: bad", session.ErrDecode, "user"), http.StatusInternalServerError, "session_value_unreadable"},
	} {
		t.Run(fmt.Sprintf("%d for %v, as JSON when accepted", tt.status, tt.err), func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Accept", "application/json")
			w := httptest.NewRecorder()
			session.DefaultErrorHandler(w, r, tt.err)
			var body struct{ Error, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != tt.status || body.Error != tt.code || body.Message == "" {
				t.Fatalf("got %d %q (%v), want %d with error %q and a message", w.Code, w.Body, err, tt.status, tt.code)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q, want no-store", got)
			}
		})
		t.Run(fmt.Sprintf("%d for %v, as text otherwise", tt.status, tt.err), func(t *testing.T) {
			w := httptest.NewRecorder()
			session.DefaultErrorHandler(w, httptest.NewRequest(http.MethodGet, "/", nil), tt.err)
			if w.Code != tt.status || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") || w.Body.Len() == 0 {
				t.Fatalf("got %d %q %q, want %d as plain text", w.Code, w.Header().Get("Content-Type"), w.Body, tt.status)
			}
		})
	}
	t.Run("a store failure says when to retry", func(t *testing.T) {
		w := httptest.NewRecorder()
		session.DefaultErrorHandler(w, httptest.NewRequest(http.MethodGet, "/", nil), session.ErrStore)
		if got := w.Header().Get("Retry-After"); got == "" {
			t.Fatal("no Retry-After on a 503")
		}
	})
	if errors.Is(session.ErrTooManyKeys, session.ErrStore) {
		t.Fatal("a limit is not a store failure")
	}
}
