package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

// reserve calls Reserve or fails the test.
func reserve(t *testing.T, s *sqlstore.Store, id string, max int) bool {
	t.Helper()
	ok, err := s.Reserve(t.Context(), id, max)
	if err != nil {
		t.Fatalf("Reserve(%s, %d): got error %v, want nil", id, max, err)
	}
	return ok
}

func TestLimiter(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		t.Run("sessions and reservations count until deleted, moved away from, reaped or swept", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now, Retention: time.Hour})
			ctx := t.Context()
			const max = 3
			for _, id := range []string{"Aone", "Btwo", "Cthree"} {
				if !reserve(t, s, id, max) {
					t.Fatalf("Reserve(%s) within the limit: got false, want true", id)
				}
				mustCreate(t, s, id, nil, time.Minute) // counts in its reservation's place
			}
			if reserve(t, s, "Dfour", max) {
				t.Fatalf("Reserve beyond the limit: got true, want false")
			}
			// A renewal: the new ID is counted without a limit, the old
			// stops counting with the move.
			if !reserve(t, s, "Aone2", 0) {
				t.Fatalf("Reserve with no limit: got false, want true")
			}
			if found, err := s.Move(ctx, "Aone", "Aone2", store.Delta{}, time.Minute, 0); err != nil || !found {
				t.Fatalf("Move: got %v, %v", found, err)
			}
			if reserve(t, s, "Dfour", max) {
				t.Errorf("Reserve after a move: got true, want false (still three sessions)")
			}
			if _, err := s.Delete(ctx, "Btwo"); err != nil {
				t.Fatal(err)
			}
			if !reserve(t, s, "Dfour", max) {
				t.Errorf("Reserve after a delete: got false, want true")
			}
			mustCreate(t, s, "Dfour", nil, time.Minute)
			// Expired sessions count until reaped.
			clock.Advance(2 * time.Minute)
			if reserve(t, s, "Efive", max) {
				t.Errorf("Reserve while expired sessions are not reaped: got true, want false")
			}
			recs := claim(t, s, 10)
			if err := s.Reap(ctx, recordIDs(recs)...); err != nil {
				t.Fatal(err)
			}
			for i := range max {
				if !reserve(t, s, fmt.Sprint("F", i), max) {
					t.Errorf("Reserve %d after the reap: got false, want true", i+1)
				}
			}
		})

		t.Run("a reservation whose session never came stops counting after a grace period of a minute", func(t *testing.T) {
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
			if !reserve(t, s, "abandoned", 1) {
				t.Fatal("first Reserve: got false, want true")
			}
			clock.Advance(59 * time.Second)
			if reserve(t, s, "next", 1) {
				t.Errorf("Reserve within the grace period: got true, want false")
			}
			clock.Advance(2 * time.Second)
			if !reserve(t, s, "next", 1) {
				t.Errorf("Reserve past the grace period: got false, want true")
			}
			// Swept too, when no Reserve comes to make room.
			if !reserve(t, s, "swept", 0) {
				t.Fatal("Reserve: got false")
			}
			clock.Advance(2 * time.Minute)
			if n, err := s.Sweep(t.Context()); err != nil || n != 2 {
				t.Errorf("Sweep: got %d, %v, want 2 reservations, nil", n, err)
			}
			if !reserve(t, s, "after", 1) {
				t.Errorf("Reserve after the sweep: got false, want true")
			}
		})

		t.Run("a session stored without a reservation does not count", func(t *testing.T) {
			// The middleware reserves every new session while MaxSessions
			// is set; one stored while it was not counts toward nothing.
			clock := fakeclock.New()
			s := newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})
			mustCreate(t, s, "unlimited", nil, time.Hour)
			if !reserve(t, s, "limited", 1) {
				t.Errorf("Reserve: got false, want true")
			}
			mustCreate(t, s, "limited", nil, time.Hour)
			if _, err := s.Delete(t.Context(), "unlimited"); err != nil {
				t.Fatal(err)
			}
			if reserve(t, s, "another", 1) {
				t.Errorf("Reserve after deleting the uncounted session: got true, want false")
			}
		})

		t.Run("applications have limits of their own", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			shop := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: "shop"})
			blog := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now, Application: "blog"})
			if !reserve(t, shop, "a", 1) {
				t.Fatal("shop's first Reserve: got false, want true")
			}
			mustCreate(t, shop, "a", nil, time.Hour)
			if reserve(t, shop, "b", 1) {
				t.Errorf("shop's Reserve at its limit: got true, want false")
			}
			if !reserve(t, blog, "b", 1) {
				t.Errorf("blog's Reserve: got false, want true")
			}
		})

		t.Run("concurrent reservations on several servers never pass the limit", func(t *testing.T) {
			db := b.open(t)
			clock := fakeclock.New()
			const servers, perServer, max = 3, 20, 10
			var created atomic.Int32
			var wg sync.WaitGroup
			for i := range servers {
				s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now})
				for j := range perServer {
					wg.Go(func() {
						id := fmt.Sprintf("%c-%d-%d", 'A'+j%26, i, j)
						ok, err := s.Reserve(t.Context(), id, max)
						if err != nil {
							t.Errorf("Reserve: got error %v, want nil", err)
							return
						}
						if !ok {
							return
						}
						if err := s.Create(t.Context(), id, nil, time.Hour, 0); err != nil {
							t.Errorf("Create: got error %v, want nil", err)
							return
						}
						created.Add(1)
					})
				}
			}
			wg.Wait()
			if got := created.Load(); got != max {
				t.Errorf("got %d sessions created, want exactly %d", got, max)
			}
			s := newStore(t, db, b.dialect, sqlstore.Config{Now: clock.Now})
			if n, err := s.Count(t.Context()); err != nil || n != max {
				t.Errorf("Count: got %d, %v, want %d", n, err, max)
			}
		})
	})
}

// answerLost is a Store whose first Reserve is carried out but answers an
// error, as a connection that drops after the commit does.
type answerLost struct {
	*sqlstore.Store
	lost atomic.Bool
}

func (a *answerLost) Reserve(ctx context.Context, id string, max int) (bool, error) {
	ok, err := a.Store.Reserve(ctx, id, max)
	if err == nil && a.lost.CompareAndSwap(false, true) {
		return false, errors.New("connection reset after the commit")
	}
	return ok, err
}

// TestReserveRetried: with MaxSessions and an OnStoreError that asks for a
// retry, a Reserve whose answer was lost is made again. The ID is counted
// already, so the second try must succeed (as it does on Redis, memstore
// and SQLite): the request's new session is within the limit.
func TestReserveRetried(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		clock := fakeclock.New()
		st := &answerLost{Store: newStore(t, b.open(t), b.dialect, sqlstore.Config{Now: clock.Now})}
		m, err := session.New(session.Config{
			Store:        st,
			Keys:         []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}},
			Now:          clock.Now,
			MaxSessions:  1,
			ReapInterval: -1,
			OnStoreError: func(r *http.Request, id string, err error) bool { return true },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = session.FromContext(r.Context()).Set("cart", 1)
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
		if w.Code != http.StatusOK {
			t.Errorf("the first session of the application, its Reserve retried: got %d %s, want 200", w.Code, strings.TrimSpace(w.Body.String()))
		}
	})
}
