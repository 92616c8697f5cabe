package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// loginClient is the options of a SessionClient whose onLoginNeeded logs
// in as ann through the client itself, as window.mode says: "login" does,
// "refuse" resolves false, "pretend" resolves true without logging in,
// "own" first makes a failing call of its own. window.logins lists the
// errors it was called for.
const loginClient = `{
	onLoginNeeded: async ({ error, message, response }) => {
		logins.push(error);
		if (!message || response.status !== 401) throw new Error("onLoginNeeded got " + message + " " + response.status);
		if (mode === "refuse") return false;
		if (mode === "own") window.own = (await c.fetch("/api/whoami")).status;
		if (mode === "pretend") return true;
		const res = await c.fetch("/api/login", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ user: "ann" }),
		});
		return res.ok;
	},
}`

type answer struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// askWhoami is the script that asks who is logged in through the client c.
const askWhoami = `c.fetch("/api/whoami").then(async (r) => ({ status: r.status, body: await r.text() }))`

func TestBrowserLoginNeeded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: browser tests skipped")
	}
	b := startBrowser(t)
	srv := startRecordedExample(t, 20*time.Minute)

	// open returns a page whose client c logs in as mode says.
	open := func(t *testing.T, mode string) *page {
		t.Helper()
		p := b.newPage(t)
		p.open(srv.url + "/")
		evaluate[bool](p, `window.logins = []; window.mode = "`+mode+`"; true`)
		p.newClient("c", loginClient)
		return p
	}
	// ended gives c a session and ends it on the server, as an admin or a
	// logout elsewhere would; it returns the dead token.
	ended := func(t *testing.T, p *page) string {
		t.Helper()
		p.count("c")
		tok := evaluate[string](p, `c.token`)
		if _, err := srv.store.Delete(context.Background(), srv.idOf(tok)); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	logins := func(p *page) []string { return evaluate[[]string](p, `logins`) }

	t.Run("a call whose session the server ended logs in and is sent again with the new token", func(t *testing.T) {
		p := open(t, "login")
		dead := ended(t, p)
		mark := srv.rec.len()
		if got := evaluate[answer](p, askWhoami); got.Status != 200 || !strings.Contains(got.Body, `"user":"ann"`) {
			t.Fatalf("got %+v, want 200 for ann", got)
		}
		live := evaluate[string](p, `c.token`)
		reqs := srv.rec.since(mark)
		if got, want := paths(reqs), []string{"GET /api/whoami 401", "POST /api/login 200", "GET /api/whoami 200"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if reqs[0].token != dead || reqs[1].token != "" || reqs[2].token != live {
			t.Fatalf("sent tokens %q, %q, %q; want the dead one, none (it was forgotten), then the login's", reqs[0].token, reqs[1].token, reqs[2].token)
		}
		if got := logins(p); !slices.Equal(got, []string{"session_expired"}) {
			t.Fatalf("onLoginNeeded called for %q, want [session_expired]", got)
		}
		if got := evaluate[[]string](p, `events`); !slices.Equal(got, []string{"rejected"}) {
			t.Fatalf("got expired events %q, want [rejected]: the event still fires", got)
		}
	})

	t.Run("a call without a session that answers session_required logs in too", func(t *testing.T) {
		p := open(t, "login")
		mark := srv.rec.len()
		if got := evaluate[answer](p, askWhoami); got.Status != 200 {
			t.Fatalf("got %+v, want 200", got)
		}
		if got, want := paths(srv.rec.since(mark)), []string{"GET /api/whoami 401", "POST /api/login 200", "GET /api/whoami 200"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if got := logins(p); !slices.Equal(got, []string{"session_required"}) {
			t.Fatalf("onLoginNeeded called for %q, want [session_required]", got)
		}
	})

	t.Run("concurrent calls that fail share one login and are each sent again once", func(t *testing.T) {
		p := open(t, "login")
		dead := ended(t, p)
		mark := srv.rec.len()
		got := evaluate[[]int](p, `Promise.all([1, 2, 3].map(() => c.fetch("/api/whoami").then((r) => r.status)))`)
		if !slices.Equal(got, []int{200, 200, 200}) {
			t.Fatalf("got statuses %v, want three 200s", got)
		}
		if got := logins(p); len(got) != 1 {
			t.Fatalf("onLoginNeeded called %d times, want once", len(got))
		}
		live := evaluate[string](p, `c.token`)
		count := map[string]int{}
		for _, r := range srv.rec.since(mark) {
			switch {
			case r.path == "/api/whoami" && r.status == 401 && r.token == dead:
				count["dead"]++
			case r.path == "/api/whoami" && r.status == 200 && r.token == live:
				count["retried"]++
			case r.path == "/api/login":
				count["login"]++
			default:
				t.Fatalf("unexpected request %+v", r)
			}
		}
		if count["dead"] != 3 || count["retried"] != 3 || count["login"] != 1 {
			t.Fatalf("got %v, want 3 with the dead token, 1 login, 3 with the new token", count)
		}
	})

	t.Run("a handler that resolves false gets the 401 back, and the call is not sent again", func(t *testing.T) {
		p := open(t, "refuse")
		ended(t, p)
		mark := srv.rec.len()
		if got := evaluate[answer](p, askWhoami); got.Status != 401 || !strings.Contains(got.Body, `"session_expired"`) {
			t.Fatalf("got %+v, want the 401 session_expired", got)
		}
		if got := paths(srv.rec.since(mark)); !slices.Equal(got, []string{"GET /api/whoami 401"}) {
			t.Fatalf("got %q, want the one call", got)
		}
		if got := logins(p); len(got) != 1 {
			t.Fatalf("onLoginNeeded called %d times, want once", len(got))
		}
	})

	t.Run("a call that fails again after the login is returned as is: no second login, no loop", func(t *testing.T) {
		p := open(t, "pretend")
		ended(t, p)
		mark := srv.rec.len()
		if got := evaluate[answer](p, askWhoami); got.Status != 401 || !strings.Contains(got.Body, `"session_required"`) {
			t.Fatalf("got %+v, want the second answer, 401 session_required", got)
		}
		if got := paths(srv.rec.since(mark)); !slices.Equal(got, []string{"GET /api/whoami 401", "GET /api/whoami 401"}) {
			t.Fatalf("got %q, want the call and one retry", got)
		}
		if got := logins(p); !slices.Equal(got, []string{"session_expired"}) {
			t.Fatalf("onLoginNeeded called for %q, want [session_expired] only", got)
		}
	})

	t.Run("the handler's own failing call is answered, not held for the login it is part of", func(t *testing.T) {
		p := open(t, "own")
		ended(t, p)
		mark := srv.rec.len()
		if got := evaluate[answer](p, askWhoami); got.Status != 200 {
			t.Fatalf("got %+v, want 200", got)
		}
		if own := evaluate[int](p, `own`); own != 401 {
			t.Fatalf("the handler's own call got %d, want its 401", own)
		}
		want := []string{"GET /api/whoami 401", "GET /api/whoami 401", "POST /api/login 200", "GET /api/whoami 200"}
		if got := paths(srv.rec.since(mark)); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if got := logins(p); len(got) != 1 {
			t.Fatalf("onLoginNeeded called %d times, want once", len(got))
		}
	})

	t.Run("a call begun during a login whose answer comes after it shares its outcome", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		// The handler waits for loginGate; the fetch underneath holds calls
		// to ?held until heldGate opens.
		evaluate[bool](p, `window.logins = []; window.mode = "login";
			window.openLogin = null; window.loginGate = new Promise((r) => { openLogin = r; });
			window.openHeld = null; window.heldGate = new Promise((r) => { openHeld = r; });
			true`)
		p.newClient("c", `{
			onLoginNeeded: async (d) => {
				logins.push(d.error);
				await loginGate;
				return (await c.fetch("/api/login", { method: "POST", body: JSON.stringify({ user: "ann" }) })).ok;
			},
			fetch: (input, init) => String(input).endsWith("?held") ? heldGate.then(() => fetch(input, init)) : fetch(input, init),
		}`)
		ended(t, p)
		mark := srv.rec.len()
		evaluate[bool](p, `window.first = c.fetch("/api/whoami").then((r) => r.status); true`)
		p.waitFor(`logins.length === 1`) // the login runs
		evaluate[bool](p, `window.held = c.fetch("/api/whoami?held").then((r) => r.status); openLogin(); true`)
		if got := evaluate[int](p, `first`); got != 200 {
			t.Fatalf("the first call got %d, want 200", got)
		}
		evaluate[bool](p, `openHeld(); true`)
		if got := evaluate[int](p, `held`); got != 200 {
			t.Fatalf("the call begun during the login got %d, want 200 once sent again", got)
		}
		want := []string{"GET /api/whoami 401", "POST /api/login 200", "GET /api/whoami 200", "GET /api/whoami 401", "GET /api/whoami 200"}
		if got := paths(srv.rec.since(mark)); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if got := logins(p); len(got) != 1 {
			t.Fatalf("onLoginNeeded called %d times, want once", len(got))
		}
	})

	t.Run("a Request's body is sent again after the login", func(t *testing.T) {
		p := open(t, "login")
		ended(t, p)
		mark := srv.rec.len()
		status := evaluate[int](p, `c.fetch(new Request("/api/logout-others", { method: "POST", body: "0123456789" })).then((r) => r.status)`)
		if status != 200 {
			t.Fatalf("got %d, want 200", status)
		}
		reqs := srv.rec.since(mark)
		if got, want := paths(reqs), []string{"POST /api/logout-others 401", "POST /api/login 200", "POST /api/logout-others 200"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if reqs[0].size != 10 || reqs[2].size != 10 {
			t.Fatalf("the bodies were %d and %d bytes, want 10 both times", reqs[0].size, reqs[2].size)
		}
	})

	t.Run("a stream body cannot be sent twice: its 401 is returned without a login", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		// Chromium streams request bodies over HTTP/2 only, so the fetch
		// underneath answers a stream as a server whose session ended would.
		evaluate[bool](p, `window.logins = []; window.mode = "login"; window.sends = 0; true`)
		p.newClient("c", `Object.assign(`+loginClient+`, {
			fetch: (input, init) => {
				if (!(init.body instanceof ReadableStream)) return fetch(input, init);
				sends++;
				return Promise.resolve(new Response('{"error":"session_expired","message":"ended"}',
					{ status: 401, headers: { "Content-Type": "application/json" } }));
			},
		})`)
		status := evaluate[int](p, `c.fetch("/api/logout-others", { method: "POST", body: new ReadableStream(), duplex: "half" }).then((r) => r.status)`)
		if status != 401 {
			t.Fatalf("got %d, want 401", status)
		}
		if sends := evaluate[int](p, `sends`); sends != 1 {
			t.Fatalf("the stream was sent %d times, want once", sends)
		}
		if got := logins(p); len(got) != 0 {
			t.Fatalf("onLoginNeeded called for %q, want not at all", got)
		}
	})

	t.Run("the page asks for a login when Who am I? needs one, then runs it again", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		mark := srv.rec.len()
		p.click("#chat .whoami")
		p.waitClass("#chat .login", "needed")
		p.do(chromedp.SetValue(chromedp.CSS("#chat .login input"), "ann"))
		p.click("#chat .login button")
		p.waitText("#chat .status", "You are ann.")
		if got, want := paths(srv.rec.since(mark)), []string{"GET /api/whoami 401", "POST /api/login 200", "GET /api/whoami 200"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if evaluate[bool](p, `document.querySelector("#chat .login").classList.contains("needed")`) {
			t.Fatal("the login form still asks for a login")
		}
	})
}

// waitFor waits until the expression cond is true in the page.
func (p *page) waitFor(cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`() => `+cond,
		chromedp.WithPollingInterval(10*time.Millisecond),
		chromedp.WithPollingTimeout(stepTimeout),
	))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v", cond, err)
	}
}

// waitClass waits until the element css has class.
func (p *page) waitClass(css, class string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`(css, name) => document.querySelector(css)?.classList.contains(name) ?? false`,
		chromedp.WithPollingArgs(css, class),
		chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(stepTimeout),
	))
	if err != nil {
		p.t.Fatalf("%s: waiting for class %q: %v", css, class, err)
	}
}
