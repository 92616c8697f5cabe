package session_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
)

// budgetCase is one row of the round-trip budget in the README: what the
// client holds, what the handler does, and the store calls that may cost.
type budgetCase struct {
	name      string
	token     bool // the client holds a live session with a=1
	touchDue  bool // its token is older than the touch interval
	gone      bool // its session was deleted from the store meanwhile
	path      string
	wantCalls []string
}

// arrange returns a client of e in the state the case starts from.
func (tt budgetCase) arrange(t *testing.T, e *env) *client {
	t.Helper()
	c := e.client()
	if tt.token {
		c.get("/set?k=a&v=1")
	}
	if tt.touchDue {
		e.clock.Advance(2 * time.Minute)
	}
	if tt.gone {
		if _, err := e.store.Store.Delete(t.Context(), tokenID(t, e, c.token)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

var budget = []budgetCase{
	{"no token, session untouched: 0", false, false, false, "/noop", nil},
	{"token, session untouched, no touch due: 0", true, false, false, "/noop", nil},
	{"token, session untouched, touch due: 1", true, true, false, "/noop", []string{"Touch"}},
	{"read only: 1", true, false, false, "/get?k=a", []string{"Load"}},
	{"read only, touch due (pipelined with the load): 1", true, true, false, "/get?k=a", []string{"Load+touch"}},
	{"write only (delta and expiry, guarded): 1", true, false, false, "/set?k=b&v=2", []string{"Update"}},
	{"write only, touch due (the update renews): 1", true, true, false, "/set?k=b&v=2", []string{"Update"}},
	{"read then write: 2", true, false, false, "/incr", []string{"Load", "Update"}},
	{"new session with data: 1", false, false, false, "/set?k=a&v=1", []string{"Create"}},
	{"new session, nothing stored: 0", false, false, false, "/get?k=a", nil},
	{"destroy: 1", true, false, false, "/close", []string{"Delete"}},
	{"renew (login): 1, an atomic move", true, false, false, "/renew", []string{"Move"}},
	{"renew with a dead token: 1, the move finds nothing and nothing is stored", true, false, true, "/renew", []string{"Move"}},
	{"write with a dead token: 2, the guard refuses and a fresh session takes the write", true, false, true, "/set?k=b&v=2", []string{"Update", "Create"}},
	{"add (an atomic increment, with the expiry): 1", true, false, false, "/add?k=n&n=1", []string{"Apply"}},
	{"add, touch due (the apply renews): 1", true, true, false, "/add?k=n&n=1", []string{"Apply"}},
	{"write then add: 1, the write goes with the add", true, false, false, "/setadd?k=b&v=2&a=n&n=1", []string{"Apply"}},
	{"take (an atomic read and remove): 1", true, false, false, "/take?k=a", []string{"Apply"}},
	{"new session, add: 1", false, false, false, "/add?k=n&n=1", []string{"Create"}},
	{"add with a dead token: 2, the guard refuses and a fresh session takes the sum", true, false, true, "/add?k=n&n=1", []string{"Apply", "Create"}},
}

// farmConfig switches on every farm feature that costs store calls on the
// request path: MaxSessions, MaxUserSessions and PublishEvents (the hooks
// themselves cost none).
var farmConfig = session.Config{
	TouchInterval:   time.Minute,
	MaxSessions:     1000,
	MaxUserSessions: 5,
	PublishEvents:   true,
	OnExpired:       func(context.Context, session.Expiry) error { return nil },
	OnDestroyed:     func(context.Context, session.Ended) error { return nil },
}

// farmBudget is the budget with farmConfig: the README's round-trip table
// with the farm features on.
var farmBudget = []budgetCase{
	{"no token, session untouched: 0", false, false, false, "/noop", nil},
	{"token, session untouched, no touch due: 0", true, false, false, "/noop", nil},
	{"token, session untouched, touch due: 1", true, true, false, "/noop", []string{"Touch"}},
	{"read only: 1", true, false, false, "/get?k=a", []string{"Load"}},
	{"write only: 1", true, false, false, "/set?k=b&v=2", []string{"Update"}},
	{"new session with data: counted toward MaxSessions, then created", false, false, false, "/set?k=a&v=1", []string{"Reserve", "Create"}},
	{"destroy: the session, then the event to the farm", true, false, false, "/close", []string{"Delete", "Publish"}},
	{"renew: the new ID counted, then the move", true, false, false, "/renew", []string{"Reserve", "Move"}},
	{"login: the user's sessions for MaxUserSessions, the new ID counted, the move", true, false, false, "/login?u=ann", []string{"UserSessions", "Reserve", "Move"}},
	{"write with a dead token: the refused update, then a new session", true, false, true, "/set?k=b&v=2", []string{"Update", "Reserve", "Create"}},
	{"add: 1", true, false, false, "/add?k=n&n=1", []string{"Apply"}},
	{"take: 1", true, false, false, "/take?k=a", []string{"Apply"}},
}

func TestRoundTripBudgetMemstoreFarm(t *testing.T) {
	runBudget(t, newEnv(t, farmConfig), farmBudget, nil)
}

// runBudget plays every budget case against e, checking the store calls with
// e.store and, when roundTrips is given, the round trips the backend counted
// since its last call: one a store call, unless want gives another number
// for the case.
func runBudget(t *testing.T, e *env, budget []budgetCase, roundTrips func() int64, want ...map[string]int64) {
	for _, tt := range budget {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.arrange(t, e)
			e.store.Calls()
			if roundTrips != nil {
				roundTrips()
			}
			w := c.do(http.MethodPost, tt.path)
			if w.Code >= 500 {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
			calls := e.store.Calls()
			if !slices.Equal(calls, tt.wantCalls) {
				t.Fatalf("got store calls %v, want %v", calls, tt.wantCalls)
			}
			if roundTrips != nil {
				wantRT := int64(len(tt.wantCalls))
				if len(want) > 0 {
					if n, ok := want[0][tt.name]; ok {
						wantRT = n
					}
				}
				if got := roundTrips(); got != wantRT {
					t.Fatalf("got %d round trips to the backend, want %d", got, wantRT)
				}
			}
		})
	}
}

func TestRoundTripBudgetMemstore(t *testing.T) {
	runBudget(t, newEnv(t, session.Config{TouchInterval: time.Minute}), budget, nil)
}

func TestRoundTripBudgetWithProviders(t *testing.T) {
	// Metrics and traces wrap every store call: they must add none.
	t.Run("plain", func(t *testing.T) {
		runBudget(t, newEnv(t, newTelemetry(t).config(session.Config{TouchInterval: time.Minute})), budget, nil)
	})
	t.Run("farm", func(t *testing.T) {
		runBudget(t, newEnv(t, newTelemetry(t).config(farmConfig)), farmBudget, nil)
	})
}
