package session_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/redisstore"
)

// opOf names the operation a countingStore call is measured as: memstore
// and redisstore with Index remove sessions with Indexer.Remove, which
// countingStore counts as "Delete".
func opOf(call string, indexed bool) string {
	switch call {
	case "Load+touch":
		return "load"
	case "Delete":
		if indexed {
			return "remove"
		}
		return "delete"
	case "UserSessions":
		return "user_sessions"
	}
	return strings.ToLower(call)
}

// checkStoreCalls plays the round-trip budget on e and checks that every
// store call the countingStore underneath saw, and no other, is measured
// in session.store.duration and traced with a span of its own, in order,
// with outcome not_found where the session was gone.
func checkStoreCalls(t *testing.T, e *env, tel *telemetry, budget []budgetCase, indexed bool) {
	for _, tt := range budget {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.arrange(t, e)
			before := tel.durations(t) // may count live sessions: before the calls are taken
			e.store.Calls()
			tel.takeSpans()
			if w := c.do(http.MethodPost, tt.path); w.Code >= 500 {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
			calls := e.store.Calls()
			if !slices.Equal(calls, tt.wantCalls) {
				t.Fatalf("got store calls %v, want %v: observing must not change them", calls, tt.wantCalls)
			}
			spans := tel.takeSpans()
			after := tel.durations(t)
			measured := map[string]uint64{}
			for k, n := range after {
				if d := n - before[k]; d > 0 {
					measured[strings.SplitN(k, "/", 2)[0]] += d
				}
			}
			want := map[string]uint64{}
			for _, call := range calls {
				want[opOf(call, indexed)]++
			}
			if !equalCounts(measured, want) {
				t.Fatalf("session.store.duration counted %v, want %v", measured, want)
			}
			if len(spans) != len(calls) {
				t.Fatalf("got %d spans, want one per store call %v", len(spans), calls)
			}
			for i, s := range spans {
				op := opOf(calls[i], indexed)
				if s.Name != "session.store."+op || spanAttr(s, "session.operation") != op {
					t.Fatalf("span %d: got %s with operation %q, want session.store.%s", i, s.Name, spanAttr(s, "session.operation"), op)
				}
				wantOutcome := "ok"
				if tt.gone && i == 0 {
					wantOutcome = "not_found"
				}
				if got := spanAttr(s, "session.outcome"); got != wantOutcome {
					t.Fatalf("span %s: got outcome %q, want %q", s.Name, got, wantOutcome)
				}
			}
			if tt.gone && after[opOf(calls[0], indexed)+"/not_found"] == before[opOf(calls[0], indexed)+"/not_found"] {
				t.Fatalf("session.store.duration did not count %s/not_found", opOf(calls[0], indexed))
			}
		})
	}
}

func TestStoreCallsMeasuredAndTraced(t *testing.T) {
	t.Run("memstore", func(t *testing.T) {
		tel := newTelemetry(t)
		e := newEnv(t, tel.config(session.Config{TouchInterval: time.Minute}))
		checkStoreCalls(t, e, tel, budget, true)
		if e.lender == nil || e.lender.lends() == 0 {
			t.Fatalf("memstore lent nothing: the loads measured were copies, and Lend went unchecked")
		}
	})
	t.Run("memstore with the farm features", func(t *testing.T) {
		tel := newTelemetry(t)
		checkStoreCalls(t, newEnv(t, tel.config(farmConfig)), tel, farmBudget, true)
	})
	t.Run("redisstore on miniredis with the farm features", func(t *testing.T) {
		tel := newTelemetry(t)
		clock := fakeclock.New()
		cfg := tel.config(farmConfig)
		cfg.Now = clock.Now
		cfg.Store = redisstore.New(miniredisClient(t), redisstore.Config{Prefix: "obs", Index: true, Now: clock.Now})
		e := newEnv(t, cfg)
		e.clock = clock
		checkStoreCalls(t, e, tel, farmBudget, true)
		checkLive(t, e, tel)
	})
}
