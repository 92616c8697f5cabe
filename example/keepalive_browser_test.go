package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed58a3dad2/session/internal/fakeclock"
)

// The keep-alive tests run the server and the page on one fake clock, moved
// in step: the server's through fakeclock, the page's through the clock
// option of SessionClient. Twenty minutes pass in no time.

func TestBrowserKeepAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: browser tests skipped")
	}
	b := startBrowser(t)
	clock := fakeclock.New()
	srv := startClockedExample(t, 20*time.Minute, clock.Now) // TouchInterval: 1 minute

	// start opens a page whose client c keeps its session alive with the
	// given keepAlive options, on a clock in step with the server's, and
	// starts a session; it returns the session's token.
	start := func(t *testing.T, keepAlive string) (*page, string) {
		t.Helper()
		p := b.newPage(t)
		p.open(srv.url + "/")
		p.installClock(clock.Now())
		p.newClient("c", `{clock, keepAlive: `+keepAlive+`}`)
		if n := p.count("c"); n != 1 {
			t.Fatalf("got n=%d, want a new session's 1", n)
		}
		return p, evaluate[string](p, `c.token`)
	}
	// advance moves both clocks by d; the page's runs its timers in order
	// and waits for the keep-alive each sends.
	advance := func(p *page, d time.Duration) {
		t.Helper()
		clock.Advance(d)
		evaluate[bool](p, fmt.Sprintf(`clock.advance(%d)`, d.Milliseconds()))
	}
	const keepAlive = `{url: "/api/keepalive"}` // idle 5 minutes, before 1 minute

	t.Run("while the page is visible and in use the session is renewed before it expires, in the store too", func(t *testing.T) {
		p, tok := start(t, keepAlive)
		t0 := clock.Now()
		p.wantExpires("c", t0.Add(20*time.Minute))
		mark := srv.rec.len()

		advance(p, 18*time.Minute)
		p.input()
		advance(p, time.Minute) // 19 minutes: a minute before the expiry
		reqs := srv.rec.since(mark)
		want := expiresLayoutOf(t0.Add(39 * time.Minute))
		if len(reqs) != 1 || reqs[0].method != "POST" || reqs[0].path != "/api/keepalive" || reqs[0].token != tok || reqs[0].status != 204 || reqs[0].expires != want {
			t.Fatalf("got %+v, want one POST /api/keepalive with the token, answered 204 and Session-Expires %s", reqs, want)
		}
		p.wantExpires("c", t0.Add(39*time.Minute))
		renewed := evaluate[string](p, `c.token`)
		if srv.idOf(renewed) != srv.idOf(tok) {
			t.Fatal("the keep-alive changed the session")
		}
		advance(p, 2*time.Minute) // past the expiry the session had before
		if !srv.exists(renewed) {
			t.Fatal("the store let the session expire at its old expiry")
		}

		advance(p, 15*time.Minute) // 36 minutes
		p.input()
		advance(p, 2*time.Minute) // 38 minutes: a minute before the new expiry
		p.wantExpires("c", t0.Add(58*time.Minute))
		if got := paths(srv.rec.since(mark)); !slices.Equal(got, []string{"POST /api/keepalive 204", "POST /api/keepalive 204"}) {
			t.Fatalf("got requests %q, want two keep-alives and nothing else", got)
		}
		if got := evaluate[[]string](p, `events`); len(got) != 0 {
			t.Fatalf("got expired events %q, want none", got)
		}
	})

	t.Run("an idle page sends no keep-alive: the session expires, and expired fires when it does", func(t *testing.T) {
		p, tok := start(t, keepAlive)
		mark := srv.rec.len()
		advance(p, 19*time.Minute) // no input since the page opened
		if got := paths(srv.rec.since(mark)); len(got) != 0 {
			t.Fatalf("got requests %q, want none from an idle page", got)
		}
		if got := evaluate[[]string](p, `events`); len(got) != 0 {
			t.Fatalf("got expired events %q before the expiry", got)
		}
		advance(p, time.Minute)
		if got := evaluate[[]string](p, `events`); !slices.Equal(got, []string{"timeout"}) {
			t.Fatalf("got expired events %q at the expiry, want [timeout]", got)
		}
		if got := evaluate[*string](p, `c.token`); got != nil {
			t.Fatalf("the client kept token %q past the expiry", *got)
		}
		if srv.exists(tok) {
			t.Fatal("the session outlived its idle timeout in the store")
		}
		if n := p.timers(); n != 0 {
			t.Fatalf("%d timers pending without a session, want none", n)
		}
		p.input()
		advance(p, 30*time.Minute)
		if got := paths(srv.rec.since(mark)); len(got) != 0 {
			t.Fatalf("got requests %q, want none: no keep-alive without a session", got)
		}
	})

	t.Run("input after a skipped keep-alive, before the expiry, renews at once", func(t *testing.T) {
		p, tok := start(t, keepAlive)
		t0 := clock.Now()
		mark := srv.rec.len()
		advance(p, 19*time.Minute) // idle: skipped
		advance(p, 30*time.Second)
		p.waitForChange("c", func() { p.input() })
		p.wantExpires("c", t0.Add(39*time.Minute+30*time.Second))
		if reqs := srv.rec.since(mark); len(reqs) != 1 || reqs[0].path != "/api/keepalive" || reqs[0].token != tok || reqs[0].status != 204 {
			t.Fatalf("got %+v, want one keep-alive with the token, answered 204", reqs)
		}
	})

	t.Run("a hidden page sends no keep-alive, even right after input, and its session expires", func(t *testing.T) {
		p, _ := start(t, keepAlive)
		mark := srv.rec.len()
		advance(p, 18*time.Minute)
		p.input()
		p.setHidden(true)
		advance(p, 2*time.Minute)
		if got := paths(srv.rec.since(mark)); len(got) != 0 {
			t.Fatalf("got requests %q, want none from a hidden page", got)
		}
		if got := evaluate[[]string](p, `events`); !slices.Equal(got, []string{"timeout"}) {
			t.Fatalf("got expired events %q, want [timeout]", got)
		}
		p.setHidden(false)
		if got := paths(srv.rec.since(mark)); len(got) != 0 {
			t.Fatalf("got requests %q once shown again, want none: the session is over", got)
		}
	})

	t.Run("a page shown again before the expiry, in use, renews at once", func(t *testing.T) {
		p, tok := start(t, keepAlive)
		t0 := clock.Now()
		mark := srv.rec.len()
		advance(p, 18*time.Minute)
		p.input()
		p.setHidden(true)
		advance(p, time.Minute+10*time.Second)
		p.waitForChange("c", func() { p.setHidden(false) })
		p.wantExpires("c", t0.Add(39*time.Minute+10*time.Second))
		if reqs := srv.rec.since(mark); len(reqs) != 1 || reqs[0].path != "/api/keepalive" || reqs[0].token != tok {
			t.Fatalf("got %+v, want one keep-alive with the token", reqs)
		}
	})

	t.Run("a keep-alive for a session the server ended ends it in the page and starts none", func(t *testing.T) {
		p, tok := start(t, keepAlive)
		if _, err := srv.store.Delete(context.Background(), srv.idOf(tok)); err != nil {
			t.Fatal(err)
		}
		mark := srv.rec.len()
		advance(p, 18*time.Minute)
		p.input()
		advance(p, time.Minute)
		if reqs := srv.rec.since(mark); len(reqs) != 1 || reqs[0].path != "/api/keepalive" || reqs[0].status != 401 || reqs[0].expires != "" {
			t.Fatalf("got %+v, want one keep-alive answered 401 without a session", reqs)
		}
		if got := evaluate[[]string](p, `events`); !slices.Equal(got, []string{"rejected"}) {
			t.Fatalf("got expired events %q, want [rejected]", got)
		}
		if got := evaluate[*string](p, `c.token`); got != nil {
			t.Fatalf("the client holds token %q after its session was ended", *got)
		}
		if n := p.timers(); n != 0 {
			t.Fatalf("%d timers pending without a session, want none", n)
		}
	})

	t.Run("a session that lasts longer than setTimeout can wait is renewed on time", func(t *testing.T) {
		long := startClockedExample(t, 30*24*time.Hour, clock.Now)
		p := b.newPage(t)
		p.open(long.url + "/")
		p.installClock(clock.Now())
		p.newClient("c", `{clock, keepAlive: {url: "/api/keepalive", idle: 30 * 86400e3}}`)
		p.count("c")
		t0 := clock.Now()
		advance(p, 30*24*time.Hour-time.Minute)
		// setTimeout runs a delay past 2^31-1 ms (24.8 days) at once.
		if got := evaluate[float64](p, `Math.max(...clock.delays)`); got > 1<<31-1 {
			t.Fatalf("the client asked setTimeout for %.0f ms, which it would run at once", got)
		}
		p.wantExpires("c", t0.Add(60*24*time.Hour-time.Minute))
		if got := paths(long.rec.all()); !slices.Equal(got, []string{"POST /api/counter 200", "POST /api/keepalive 204"}) {
			t.Fatalf("got requests %q, want the count and one keep-alive", got)
		}
	})

	t.Run("no timer runs without a session; closeSession and the signal stop the keep-alive", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		p.installClock(clock.Now())
		evaluate[bool](p, `window.stop = new AbortController(); true`)
		p.newClient("c", `{clock, keepAlive: {url: "/api/keepalive", signal: stop.signal}}`)
		mark := srv.rec.len()
		if n := p.timers(); n != 0 {
			t.Fatalf("%d timers pending before any session, want none", n)
		}
		p.input()
		advance(p, 30*time.Minute)
		if got := paths(srv.rec.since(mark)); len(got) != 0 {
			t.Fatalf("got requests %q, want none without a session", got)
		}

		p.count("c")
		if n := p.timers(); n != 1 {
			t.Fatalf("%d timers pending with a session, want 1", n)
		}
		evaluate[bool](p, `c.closeSession().then(() => true)`)
		if n := p.timers(); n != 0 {
			t.Fatalf("%d timers pending after closeSession, want none", n)
		}

		p.count("c")
		evaluate[bool](p, `stop.abort(); true`)
		if n := p.timers(); n != 0 {
			t.Fatalf("%d timers pending after the signal aborted, want none", n)
		}
		advance(p, 18*time.Minute)
		p.input()
		advance(p, time.Minute)
		want := []string{"POST /api/counter 200", "POST /api/logout 204", "POST /api/counter 200"}
		if got := paths(srv.rec.since(mark)); !slices.Equal(got, want) {
			t.Fatalf("got requests %q, want %q: no keep-alive", got, want)
		}
	})
}

// installClock gives the page window.clock, a fake clock for SessionClient
// reading start until advanced. Its advance(ms) runs the timers that come
// due in order, each at its own instant, and awaits what each returns (a
// keep-alive's timer returns its request), so that when it resolves the
// page has done all it would have done in that time.
func (p *page) installClock(start time.Time) {
	p.t.Helper()
	evaluate[bool](p, fmt.Sprintf(`window.clock = {
		t: %d,
		timers: new Map(),
		delays: [],
		seq: 0,
		now() { return this.t; },
		setTimeout(fn, ms) {
			const id = ++this.seq;
			this.delays.push(ms);
			this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
			return id;
		},
		clearTimeout(id) { this.timers.delete(id); },
		async advance(ms) {
			const end = this.t + ms;
			for (;;) {
				let next = null;
				for (const [id, timer] of this.timers) {
					if (timer.at <= end && (next === null || timer.at < next[1].at)) next = [id, timer];
				}
				if (next === null) break;
				this.timers.delete(next[0]);
				this.t = Math.max(this.t, next[1].at);
				await next[1].fn();
			}
			this.t = end;
			return true;
		},
	}; true`, start.UnixMilli()))
}

// timers returns how many timers are pending on the page's fake clock.
func (p *page) timers() int {
	p.t.Helper()
	return evaluate[int](p, `clock.timers.size`)
}

// input presses a key: trusted user input, as a person gives.
func (p *page) input() {
	p.t.Helper()
	p.do(chromedp.KeyEvent("x"))
}

// setHidden makes the page report itself hidden, or visible again, and
// fires visibilitychange, as switching tabs does.
func (p *page) setHidden(hidden bool) {
	p.t.Helper()
	evaluate[bool](p, fmt.Sprintf(`Object.defineProperty(document, "visibilityState", { value: %q, configurable: true });
		document.dispatchEvent(new Event("visibilitychange")); true`, map[bool]string{true: "hidden", false: "visible"}[hidden]))
}

// waitForChange runs act, then waits for the client window[name] to
// dispatch change.
func (p *page) waitForChange(name string, act func()) {
	p.t.Helper()
	evaluate[bool](p, fmt.Sprintf(`window.changed = new Promise((r) => window[%q].addEventListener("change", () => r(true), { once: true })); true`, name))
	act()
	evaluate[bool](p, `changed`)
}

// wantExpires fails unless the client window[name] says its session expires
// at want.
func (p *page) wantExpires(name string, want time.Time) {
	p.t.Helper()
	got := evaluate[*float64](p, fmt.Sprintf(`window[%q].expires?.getTime() ?? null`, name))
	if got == nil || int64(*got) != want.UnixMilli() {
		p.t.Fatalf("the client's session expires at %v, want %v", deref64(got), want.UTC().Format(expiresLayout))
	}
}

func deref64(ms *float64) string {
	if ms == nil {
		return "<no session>"
	}
	return time.UnixMilli(int64(*ms)).UTC().Format(expiresLayout)
}

// expiresLayoutOf formats t as the Session-Expires header does.
func expiresLayoutOf(t time.Time) string { return t.UTC().Format(expiresLayout) }

// paths sums requests up as "METHOD /path status".
func paths(reqs []seen) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = fmt.Sprintf("%s %s %d", r.method, r.path, r.status)
	}
	return out
}
