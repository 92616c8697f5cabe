package sessiontest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
)

// A Fault is something a test does to the servers behind a Manager's store
// (pause, stop or kill one, fail it over), and what undoes it.
type Fault struct {
	// Begin inflicts the fault.
	Begin func(t *testing.T)
	// End undoes it: resumes or restarts the server. It may be nil when the
	// store heals by itself (a failover). The store may answer again only
	// some time after End returns: Outage measures how long.
	End func(t *testing.T)
	// MaySucceed is set when requests may still be served during the fault
	// (a failover in progress); they must then answer 200 or 503. Otherwise
	// every request during the fault must answer 503.
	MaySucceed bool
	// Bound is the longest a request may take during the fault:
	// Config.StoreTimeout, since a request makes one store call before it
	// fails, plus a margin for a loaded machine.
	Bound time.Duration
}

// Figures are what Outage measured.
type Figures struct {
	// Worst is the slowest request during the fault.
	Worst time.Duration
	// Served counts the requests during the fault that answered 200.
	Served int
	// Recovery is the time from the start of End (from the end of Begin
	// when End is nil) until every session had answered a read again.
	Recovery time.Duration
	// GoroutinesBefore is the count before the fault, GoroutinesPeak the
	// highest seen while requests were failing, GoroutinesDown the count
	// once they had been answered, still during the fault, and
	// GoroutinesAfter the count after the recovery.
	GoroutinesBefore, GoroutinesPeak, GoroutinesDown, GoroutinesAfter int
}

// String formats the figures for a test log and RELIABILITY.md.
func (f Figures) String() string {
	return fmt.Sprintf("%d of %d requests during the fault served, worst latency %v, recovery %v, goroutines before %d, peak %d, after the failed requests %d, after recovery %d",
		f.Served, outageClients*len(outagePaths), f.Worst.Round(time.Millisecond), f.Recovery.Round(time.Millisecond),
		f.GoroutinesBefore, f.GoroutinesPeak, f.GoroutinesDown, f.GoroutinesAfter)
}

// outageClients is how many sessions Outage keeps; each sends
// len(outagePaths) requests at once during the fault.
const outageClients = 8

// outagePaths are the requests sent during a fault: a read, a write, and
// an atomic increment, each a different store call.
var outagePaths = []struct{ method, path string }{
	{"GET", "/get?k=v"},
	{"POST", "/set?k=during&v=x"},
	{"POST", "/add?k=n&n=1"},
}

// Outage gives several clients a session each, inflicts fault, and holds m
// to what a session layer owes its users while its store is down:
//
//   - every request answers 503 session_store_unavailable (or 200, when
//     the fault allows), never a 500 or a hang, within fault.Bound;
//   - nothing piles up: once those requests are answered, still during the
//     fault, the process is back to the goroutines it had before;
//   - once the fault ends, every client's session answers again, under the
//     same ID, with what it held, and takes new writes;
//   - and the goroutines are back to where they were.
//
// It returns what it measured, and logs it.
func Outage(t *testing.T, m *session.Manager, fault Fault) Figures {
	srv := server(t, m)
	clients := make([]*client, outageClients)
	ids := make([]string, outageClients)
	for i := range clients {
		clients[i] = newClient(t, srv)
		clients[i].http.Timeout = time.Minute // a hang fails the test rather than the test binary
		clients[i].want("POST", fmt.Sprintf("/set?k=v&v=%d", i), "")
		_, ids[i] = clients[i].do("GET", "/id")
	}
	var f Figures
	f.GoroutinesBefore = settledGoroutines()

	fault.Begin(t)
	downAt := time.Now()
	f.Worst, f.Served, f.GoroutinesPeak = failedRequests(t, clients, fault)
	f.GoroutinesDown = waitGoroutines(t, f.GoroutinesBefore, "once the requests failed during the fault were answered")

	recovering := downAt
	if fault.End != nil {
		recovering = time.Now()
		fault.End(t)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { c.waitFor("GET", "/get?k=v", fmt.Sprintf("%q", fmt.Sprint(i)), time.Minute) })
	}
	wg.Wait()
	f.Recovery = time.Since(recovering)
	if t.Failed() {
		t.FailNow()
	}
	for i, c := range clients {
		if _, id := c.do("GET", "/id"); id != ids[i] {
			t.Fatalf("client %d: after the fault its session has ID %q, want %q: it lost its session", i, id, ids[i])
		}
		c.want("POST", "/set?k=after&v=y", "")
		c.want("GET", "/get?k=after", `"y"`)
	}
	f.GoroutinesAfter = waitGoroutines(t, f.GoroutinesBefore, "after the recovery")
	t.Logf("%s", f)
	return f
}

// failedRequests sends every outage request of every client at once, checks
// each answer, and returns the slowest one's time, how many answered 200,
// and the most goroutines seen meanwhile.
func failedRequests(t *testing.T, clients []*client, fault Fault) (worst time.Duration, served, peak int) {
	t.Helper()
	var highest atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if n := int64(runtime.NumGoroutine()); n > highest.Load() {
				highest.Store(n)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i, c := range clients {
		for _, p := range outagePaths {
			wg.Go(func() {
				start := time.Now()
				code, body, err := c.try(p.method, p.path)
				took := time.Since(start)
				mu.Lock()
				worst = max(worst, took)
				if code == http.StatusOK {
					served++
				}
				mu.Unlock()
				ok := code == http.StatusServiceUnavailable && strings.Contains(body, "session_store_unavailable") ||
					fault.MaySucceed && code == http.StatusOK
				if err != nil || !ok {
					t.Errorf("client %d: %s %s during the fault: got %d %q, %v, want 503 session_store_unavailable", i, p.method, p.path, code, body, err)
				}
				if took > fault.Bound {
					t.Errorf("client %d: %s %s during the fault took %v, want at most %v", i, p.method, p.path, took, fault.Bound)
				}
			})
		}
	}
	wg.Wait()
	close(stop)
	<-sampled
	return worst, served, int(highest.Load())
}

// settledGoroutines returns the number of goroutines once it has stayed the
// same for 50 ms (connections closed a moment ago take a moment to wind
// down), or after five seconds of changes.
func settledGoroutines() int {
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	n, same := runtime.NumGoroutine(), 0
	for same < 5 && time.Now().Before(deadline) {
		<-tick.C
		if now := runtime.NumGoroutine(); now == n {
			same++
		} else {
			n, same = now, 0
		}
	}
	return n
}

// waitGoroutines polls until there are at most want goroutines, and fails
// the test with their stacks if ten seconds pass first. It returns the
// count it saw last.
func waitGoroutines(t *testing.T, want int, when string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return n
		}
		if time.Now().After(deadline) {
			var stacks bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("%s: %d goroutines after 10s, want at most %d as before the fault: they piled up\n%s", when, n, want, stacks.String())
		}
		<-tick.C
	}
}

// try sends a request and returns the status and body, or the error of a
// request that got no answer.
func (c *client) try(method, path string) (int, string, error) {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(body)), err
}

// waitFor repeats a request until it answers 200 with body want, and fails
// the test (from any goroutine) if within passes first. The store may
// refuse requests meanwhile: those answers are not checked.
func (c *client) waitFor(method, path, want string, within time.Duration) {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		code, body, err := c.try(method, path)
		if err == nil && code == http.StatusOK && body == want {
			return
		}
		if time.Now().After(deadline) {
			c.t.Errorf("%s %s: still %d %q, %v after %v, want 200 %q", method, path, code, body, err, within, want)
			return
		}
		<-tick.C
	}
}
