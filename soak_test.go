package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
)

// Soak figures: the load, and how far the heap may end above where it
// started once every session is gone and the Manager is dropped
// (memstore's maps keep their buckets after their entries go, a few hundred
// KiB for the sessions below; the 2,700 expired sessions themselves, if
// kept, would be several MiB).
const (
	soakRounds        = 4
	soakClientsRound  = 1000 // each makes about 5 requests: 20,000 in all
	soakWorkers       = 8
	soakHeapMarginMiB = 1.0
)

// TestSoak runs a bounded load through the middleware on memstore, with
// expiry driven by a fake clock: clients start sessions, read, write, log
// in, log out, or walk away and let their session expire. At the end every
// walked-away session has expired exactly once (OnExpired), the store holds
// nothing, the goroutines are back to their number before the load, and
// the heap, once the Manager is closed and dropped, is back within
// soakHeapMarginMiB of where it started: nothing grows with sessions that
// ended. During the load the heap rises with the live sessions of the last
// two rounds and with the Manager's cache of verified tokens, which is
// bounded by design (TestTokenCacheStaysBounded); the test logs it.
func TestSoak(t *testing.T) {
	goroutines0 := runtime.NumGoroutine()
	heap0 := heapInUse()

	clock := fakeclock.New()
	st := memstore.New(memstore.Config{Now: clock.Now, Retention: time.Minute})
	t.Cleanup(func() { st.Close() })
	var expired atomic.Int64
	m, err := session.New(session.Config{
		Store: st, Keys: []session.Key{testKey}, Now: clock.Now, ReapInterval: -1,
		OnExpired: func(context.Context, session.Expiry) error { expired.Add(1); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(testRoutes(m))

	var requests, walkedAway atomic.Int64
	var roundHeap []float64
	start := time.Now()
	for round := range soakRounds {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range soakWorkers {
			wg.Go(func() {
				for n := next.Add(1); n <= soakClientsRound; n = next.Add(1) {
					soakClient(t, h, int(n), &requests, &walkedAway)
				}
			})
		}
		wg.Wait()
		// Half an idle timeout between rounds: the sessions of the round
		// before last expire, and are reaped and swept.
		clock.Advance(11 * time.Minute)
		if _, err := m.Reap(t.Context()); err != nil {
			t.Fatalf("round %d: Reap: %v", round, err)
		}
		st.Sweep()
		roundHeap = append(roundHeap, heapInUse())
	}
	elapsed := time.Since(start)

	clock.Advance(21 * time.Minute) // every session expired, and past Retention
	if _, err := m.Reap(t.Context()); err != nil {
		t.Fatalf("Reap: %v", err)
	}
	st.Sweep()
	if got, want := expired.Load(), walkedAway.Load(); got != want {
		t.Errorf("OnExpired ran %d times, want %d: once per session that was not logged out", got, want)
	}
	if n := st.Len(); n != 0 {
		t.Errorf("the store holds %d live sessions after every one expired, want 0", n)
	}
	if recs, err := st.ClaimExpired(t.Context(), 1, time.Minute); err != nil || len(recs) != 0 {
		t.Errorf("ClaimExpired after the reaper and the sweep: got %d records, %v, want none: expired sessions are kept", len(recs), err)
	}

	m.Close()
	st.Close() // its sweeper
	goroutines := waitGoroutines(goroutines0)
	m, h = nil, nil // dropped, so that the heap below is the store's alone
	heap := heapInUse()
	runtime.KeepAlive(st)
	t.Logf("soak: %d requests, %d sessions expired, in %v (%d workers)", requests.Load(), expired.Load(), elapsed.Round(time.Millisecond), soakWorkers)
	t.Logf("soak: goroutines %d before, %d after; heap in use %.2f MiB before, after each round %.2f, %.2f MiB at the end",
		goroutines0, goroutines, heap0, roundHeap, heap)
	if goroutines > goroutines0 {
		t.Errorf("%d goroutines after the load, want at most the %d before it", goroutines, goroutines0)
	}
	if heap-heap0 > soakHeapMarginMiB {
		t.Errorf("heap in use %.2f MiB at the end, %.2f MiB before: more than %.1f MiB left behind", heap, heap0, soakHeapMarginMiB)
	}
}

// soakClient is one client's visit: it starts a session and uses it, then
// logs out (1 in 3), logs in and goes on (1 in 3), or walks away (1 in 3).
// It counts its requests, and the sessions it leaves to expire.
func soakClient(t *testing.T, h http.Handler, n int, requests, walkedAway *atomic.Int64) {
	token := ""
	do := func(method, target string, want int) string {
		r := httptest.NewRequest(method, target, nil)
		if token != "" {
			r.Header.Set(session.HeaderID, token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		requests.Add(1)
		if w.Code != want {
			t.Errorf("client %d: %s %s: got %d %q, want %d", n, method, target, w.Code, w.Body, want)
		}
		if tok := w.Header().Get(session.HeaderID); tok != "" {
			token = tok
		}
		return w.Body.String()
	}
	do(http.MethodGet, fmt.Sprintf(`/set?k=profile&v={"n":%d,"name":"client"}`, n), http.StatusOK)
	do(http.MethodGet, "/incr", http.StatusOK)
	if got := do(http.MethodGet, "/incr", http.StatusOK); got != "2" {
		t.Errorf("client %d: the second /incr answered %q, want 2", n, got)
	}
	switch n % 3 {
	case 0:
		do(http.MethodPost, "/close", http.StatusNoContent)
		do(http.MethodGet, "/get?k=profile", http.StatusNotFound)
	case 1:
		do(http.MethodGet, fmt.Sprintf("/login?u=user%d", n%50), http.StatusOK)
		do(http.MethodGet, "/get?k=profile", http.StatusOK)
		walkedAway.Add(1)
	default:
		do(http.MethodGet, "/get?k=profile", http.StatusOK)
		do(http.MethodGet, "/keys", http.StatusOK)
		walkedAway.Add(1)
	}
}

// heapInUse returns the heap in use after a full collection, in MiB.
func heapInUse() float64 {
	runtime.GC()
	runtime.GC() // a second pass frees what the first one's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

// waitGoroutines waits up to 5 seconds for the number of goroutines to come
// down to want (goroutines that were told to stop may take a moment to
// return), and returns the number then.
func waitGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		runtime.Gosched()
	}
}
