package sessiontest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/seed58a3dad2/session"
)

// DistinctWriters has writers requests of one session, at once, each read
// a value and then set a key of its own, for rounds rounds on fresh
// sessions: every write must be kept. A store that writes the whole
// session back, as it read it, loses all but one of them.
func DistinctWriters(t *testing.T, m *session.Manager, rounds, writers int) {
	srv := server(t, m)
	for round := range rounds {
		first := newClient(t, srv)
		first.want("POST", "/set?k=seed&v=0", "")
		var wg sync.WaitGroup
		for i := range writers {
			c := first.clone()
			wg.Go(func() {
				if code, body := c.do("POST", fmt.Sprintf("/seedset?k=k%d&v=%d", i, i)); code != http.StatusOK {
					t.Errorf("round %d, writer %d: got %d %q, want 200", round, i, code, body)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for i := range writers {
			first.want("GET", fmt.Sprintf("/get?k=k%d", i), strconv.Quote(strconv.Itoa(i)))
		}
	}
}

// RenewRacingWrites logs a client in (Renew) while writers other requests
// of the same client (tabs, API calls) write keys of their own with the
// old token, for rounds rounds: every write answered 200 must be readable
// with the token the login got or with the one its own response left,
// whichever side of the atomic move it landed on.
func RenewRacingWrites(t *testing.T, m *session.Manager, rounds, writers int) {
	srv := server(t, m)
	lost := 0
	for round := range rounds {
		login := newClient(t, srv)
		login.want("POST", "/set?k=start&v=0", "")
		writes := writesRacing(t, login, round, writers, "/renew", http.StatusOK)
		if t.Failed() {
			return
		}
		want := strconv.Quote(strconv.Itoa(round))
		for i, c := range writes {
			path := fmt.Sprintf("/get?k=w%d", i)
			if _, got := login.do("GET", path); got != want {
				if _, got := c.do("GET", path); got != want {
					lost++
				}
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d writes answered 200 are in no session the client holds", lost, rounds*writers)
	}
}

// LogoutRacingWrites logs a client out while writers other requests of the
// same client write keys of their own with its token, for rounds rounds.
// Once the logout has answered, the session is gone for good: its token
// reads nothing, neither the values it held nor any write, whichever side
// of the logout the write landed on (no resurrection). A write that
// landed after the logout went to a fresh session, under a new token, that
// holds that write alone: acknowledged, and nothing of the old session.
func LogoutRacingWrites(t *testing.T, m *session.Manager, rounds, writers int) {
	srv := server(t, m)
	fresh := 0
	for round := range rounds {
		user := newClient(t, srv)
		user.want("POST", "/set?k=start&v=1", "")
		old := user.token()
		writes := writesRacing(t, user, round, writers, "/logout", http.StatusNoContent)
		if t.Failed() {
			return
		}
		dead := user.withToken(old)
		dead.want("GET", "/get?k=start", "absent")
		want := strconv.Quote(strconv.Itoa(round))
		for i, c := range writes {
			key := fmt.Sprintf("w%d", i)
			dead.want("GET", "/get?k="+key, "absent")
			if sameToken(c.token(), old) {
				continue // landed before the logout, and ended with the session
			}
			fresh++
			c.want("GET", "/get?k="+key, want)
			c.want("GET", "/get?k=start", "absent")
		}
		dead.want("GET", "/get?k=start", "absent") // the reads above brought nothing back
	}
	t.Logf("%d of %d writes landed after the logout, in fresh sessions", fresh, rounds*writers)
}

// writesRacing sends, at once, writers requests that each set a key of
// their own (w<i> = round) from clones of c, and a POST to path from c
// itself, which must answer code; it returns the writers' clients, whose
// jars hold what their responses left.
func writesRacing(t *testing.T, c *client, round, writers int, path string, code int) []*client {
	t.Helper()
	writes := make([]*client, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		writes[i] = c.clone()
		wg.Go(func() {
			<-start
			if got, body := writes[i].do("POST", fmt.Sprintf("/set?k=w%d&v=%d", i, round)); got != http.StatusOK {
				t.Errorf("round %d: write %d got %d %q, want 200", round, i, got, body)
			}
		})
	}
	wg.Go(func() {
		<-start
		if got, body := c.do("POST", path); got != code {
			t.Errorf("round %d: %s got %d %q, want %d", round, path, got, body, code)
		}
	})
	close(start)
	wg.Wait()
	return writes
}

// DestroyRacingRenew has an administrator end a session (Manager.Destroy,
// by its handle, through POST /destroy) while the client renews its ID (a
// login), for rounds rounds. Either the destroy came first, and reported the session found:
// then no token the client holds reads anything of it; or the renewal
// came first, and the destroy found nothing under the old ID: then the
// session lives on under the new ID with its values. Never both found and
// alive, never gone without a destroy that found it. m's store must keep
// an index (store.Indexer), which Destroy needs.
func DestroyRacingRenew(t *testing.T, m *session.Manager, rounds int) {
	srv := server(t, m)
	destroyed := 0
	for round := range rounds {
		c := newClient(t, srv)
		c.want("POST", fmt.Sprintf("/set?k=start&v=%d", round), "")
		old := c.token()
		_, handle := c.do("GET", "/handle")
		// The administrator's request comes through HTTP too, so that
		// neither side has a head start.
		admin := newClient(t, srv)
		var (
			answer string
			wg     sync.WaitGroup
		)
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			var code int
			if code, answer = admin.do("POST", "/destroy?h="+url.QueryEscape(handle)); code != http.StatusOK {
				t.Errorf("round %d: destroy got %d %q, want 200", round, code, answer)
			}
		})
		wg.Go(func() {
			<-start
			if code, body := c.do("POST", "/renew"); code != http.StatusOK {
				t.Errorf("round %d: renew got %d %q, want 200", round, code, body)
			}
		})
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		if answer == "found" {
			destroyed++
			c.want("GET", "/get?k=start", "absent")
			c.withToken(old).want("GET", "/get?k=start", "absent")
			continue
		}
		c.want("GET", "/get?k=start", strconv.Quote(strconv.Itoa(round)))
		if sameToken(c.token(), old) {
			t.Fatalf("round %d: Destroy found nothing, yet the client kept its old token: the renewal did not happen", round)
		}
	}
	t.Logf("of %d races, the destroy found the session %d times, missed it (the renewal came first) %d", rounds, destroyed, rounds-destroyed)
}

// token returns the session cookie in c's jar, nil for none.
func (c *client) token() *http.Cookie {
	u, err := url.Parse(c.base)
	if err != nil {
		c.t.Fatalf("url: %v", err)
	}
	for _, ck := range c.http.Jar.Cookies(u) {
		return ck
	}
	return nil
}

// withToken returns a client of the same server whose jar holds the
// cookie ck alone.
func (c *client) withToken(ck *http.Cookie) *client {
	c.t.Helper()
	c2 := newClient(c.t, &httptest.Server{URL: c.base})
	u, err := url.Parse(c.base)
	if err != nil {
		c.t.Fatalf("url: %v", err)
	}
	c2.http.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/"}})
	return c2
}

// sameToken reports whether two cookies from token hold the same token.
func sameToken(a, b *http.Cookie) bool {
	return a != nil && b != nil && a.Value == b.Value
}
