package sessiontest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seed58a3dad2/session"
)

// ServerStopped runs two application servers, each a Manager newManager
// returns on the same shared store (its own client or pool of it), behind
// a round-robin load balancer. Clients write keys of their own, one
// request after the other, each client on its own session; halfway through
// the first server stops (its HTTP server closes, letting the requests it
// has finish, then its Manager), and the balancer sends everything to the
// second one, retrying there a request the first refused. At the end the
// second server must serve every client its own session, with every write
// that was answered 200, whichever server answered it: an application
// server that goes away loses nothing of the sessions it served.
func ServerStopped(t *testing.T, newManager func(t *testing.T) *session.Manager) {
	const clients, writes = 8, 24
	m1 := newManager(t)
	first := httptest.NewServer(routes(m1))
	t.Cleanup(first.Close)
	second := server(t, newManager(t))
	var (
		acknowledged atomic.Int64
		byFirst      atomic.Int64 // writes the first server answered 200
		firstDown    atomic.Bool
		halfway      = make(chan struct{})
		halfOnce     sync.Once
		wg           sync.WaitGroup
	)
	cs := make([]*client, clients)
	for i := range cs {
		cs[i] = newClient(t, second)
		wg.Go(func() {
			for j := range writes {
				path := fmt.Sprintf("/set?k=w%d&v=%d", j, i)
				code := 0
				if j%2 == 0 && !firstDown.Load() {
					code, _, _ = cs[i].tryAt(first.URL, "POST", path) // refused once it is down
				}
				if code == http.StatusOK {
					byFirst.Add(1)
				}
				if code != http.StatusOK {
					if code, body := cs[i].do("POST", path); code != http.StatusOK {
						t.Errorf("client %d: POST %s on the second server: got %d %q, want 200", i, path, code, body)
						return
					}
				}
				if acknowledged.Add(1) == clients*writes/2 {
					halfOnce.Do(func() { close(halfway) })
				}
			}
		})
	}
	<-halfway
	first.Close()
	firstDown.Store(true)
	if err := m1.Close(); err != nil {
		t.Errorf("Close of the first server's Manager: %v", err)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if byFirst.Load() == 0 {
		t.Fatalf("the first server answered no write before it stopped: the test proves nothing")
	}
	t.Logf("the first server answered %d of %d writes before it stopped; the second serves them all", byFirst.Load(), clients*writes)
	for i, c := range cs {
		for j := range writes {
			c.want("GET", fmt.Sprintf("/get?k=w%d", j), fmt.Sprintf("%q", fmt.Sprint(i)))
		}
	}
}

// tryAt is try on the server at base, with c's cookies.
func (c *client) tryAt(base, method, path string) (int, string, error) {
	at := *c
	at.base = base
	return at.try(method, path)
}
