package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/testenv"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store"
)

// The browser tests drive headless Chromium against the example server on
// loopback: the page at /, its two SessionClient panels, and the plain form
// at /form. A recorder around the server notes what every API request sent,
// so the tests check on the server's side which tokens the browser used.

const (
	stepTimeout  = 10 * time.Second // bounds each browser action
	suiteTimeout = 2 * time.Minute  // bounds the browser's whole life
	shortIdle    = 2 * time.Second  // the idle timeout of the server whose sessions run out during a test
)

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: browser tests skipped")
	}
	b := startBrowser(t)
	srv := startRecordedExample(t, 20*time.Minute)

	t.Run("the counter persists across calls and reloads, one session per prefix, all on the header", func(t *testing.T) {
		p := b.newPage(t)
		mark := srv.rec.len()
		p.open(srv.url + "/")
		for want := 1; want <= 3; want++ {
			p.click("#chat .count")
			p.waitText("#chat .n", fmt.Sprint(want))
		}
		p.click("#shop .count")
		p.waitText("#shop .n", "1")

		p.reload()
		p.waitText("#chat .n", "3") // the page reads the kept session back
		p.waitText("#shop .n", "1")
		p.click("#chat .count")
		p.waitText("#chat .n", "4")
		p.click("#shop .count")
		p.waitText("#shop .n", "2")

		reqs := srv.rec.since(mark)
		ids := map[string]bool{}
		for _, r := range reqs {
			if !r.header {
				t.Fatalf("%s %s came without a Session-Id header: the server would have read a cookie", r.method, r.path)
			}
			if r.token != "" {
				ids[srv.idOf(r.token)] = true
			}
		}
		if reqs[0].token != "" {
			t.Fatalf("the first request sent token %q, want an empty Session-Id", reqs[0].token)
		}
		if len(ids) != 2 {
			t.Fatalf("the browser sent tokens of %d sessions, want 2 (one per prefix)", len(ids))
		}
		if chat, shop := evaluate[string](p, `panels.chat.token`), evaluate[string](p, `panels.shop.token`); srv.idOf(chat) == srv.idOf(shop) {
			t.Fatal("the two panels share a session")
		}

		cookies := p.cookies(srv.url)
		if _, ok := cookies["session"]; ok {
			t.Fatal("the server set its cookie for a JavaScript client")
		}
		chat, ok := cookies["chat_sessionid"]
		if !ok || cookies["shop_sessionid"] == nil {
			t.Fatalf("got cookies %v, want chat_sessionid and shop_sessionid", slices.Sorted(maps.Keys(cookies)))
		}
		expires := evaluate[float64](p, `panels.chat.expires.getTime() / 1000`)
		if chat.HTTPOnly || chat.SameSite != network.CookieSameSiteStrict || math.Abs(chat.Expires-expires) > 2 {
			t.Fatalf("chat_sessionid: HttpOnly %v, SameSite %v, expires %.1f; want a script cookie, Strict, expiring with the session at %.1f",
				chat.HTTPOnly, chat.SameSite, chat.Expires, expires)
		}
	})

	t.Run("two tabs with one prefix share one session through the persisted token", func(t *testing.T) {
		first := b.newPage(t)
		first.open(srv.url + "/")
		first.newClient("c", `{persist: true, prefix: "tabs_"}`)
		if n := first.count("c"); n != 1 {
			t.Fatalf("first tab: got n=%d, want 1", n)
		}
		second := first.newTab()
		second.open(srv.url + "/")
		second.newClient("c", `{persist: true, prefix: "tabs_"}`)
		if a, b := evaluate[string](first, `c.token`), evaluate[string](second, `c.token`); a != b {
			t.Fatal("the second tab did not pick up the first tab's token")
		}
		if n := second.count("c"); n != 2 {
			t.Fatalf("second tab: got n=%d, want 2 (the same session)", n)
		}
		if n := first.count("c"); n != 3 {
			t.Fatalf("first tab again: got n=%d, want 3", n)
		}
	})

	t.Run("without persistence a reload starts a new session", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		p.newClient("c", `{}`)
		for want := 1; want <= 2; want++ {
			if n := p.count("c"); n != want {
				t.Fatalf("got n=%d, want %d", n, want)
			}
		}
		p.reload()
		p.newClient("c", `{}`)
		if n := p.count("c"); n != 1 {
			t.Fatalf("after a reload got n=%d, want a new session's 1", n)
		}
	})

	t.Run("a stored expiry that passed makes the client forget the token without sending it", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		p.newClient("c", `{persist: true, prefix: "m_"}`)
		p.count("c")
		old := evaluate[string](p, `c.token`)
		// As if the session had run out: the persisted expiry is in the past.
		evaluate[bool](p, `document.cookie = "m_sessionid=" + encodeURIComponent((Date.now() - 1) + "." + c.token) + "; Path=/"; true`)
		if got := evaluate[*string](p, `c.token`); got != nil {
			t.Fatalf("got token %q, want none once the expiry passed", *got)
		}
		if got := evaluate[[]string](p, `events`); !slices.Equal(got, []string{"timeout"}) {
			t.Fatalf("got expired events %q, want [timeout]", got)
		}
		mark := srv.rec.len()
		if n := p.count("c"); n != 1 {
			t.Fatalf("got n=%d, want a new session's 1", n)
		}
		if r := srv.rec.since(mark)[0]; !r.header || r.token != "" {
			t.Fatalf("after the expiry the client sent Session-Id %q (header %v), want an empty one", r.token, r.header)
		}
		if srv.idOf(evaluate[string](p, `c.token`)) == srv.idOf(old) {
			t.Fatal("the new session has the old ID")
		}
	})

	t.Run("a malformed persistence cookie reads as no token", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		evaluate[bool](p, `document.cookie = "bad_sessionid=%E0%A4%A; Path=/"; true`)
		p.newClient("bad", `{persist: true, prefix: "bad_"}`)
		if got := evaluate[*string](p, `bad.token`); got != nil {
			t.Fatalf("got token %q from a malformed cookie", *got)
		}
		mark := srv.rec.len()
		if n := p.count("bad"); n != 1 {
			t.Fatalf("got n=%d, want a new session's 1", n)
		}
		if r := srv.rec.since(mark)[0]; !r.header || r.token != "" {
			t.Fatalf("sent Session-Id %q (header %v), want an empty one", r.token, r.header)
		}
	})

	t.Run("a client whose clock is off still gets the whole idle timeout", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		for _, skew := range []string{"10 * 60e3", "-10 * 60e3"} { // 10 minutes fast, then slow
			evaluate[bool](p, `{ const now = Date.now.bind(Date); Date.now = () => now() + `+skew+`; } true`)
			p.newClient("c", `{}`)
			p.count("c")
			left := time.Duration(evaluate[float64](p, `c.expires.getTime() - Date.now()`)) * time.Millisecond
			if left < 19*time.Minute || left > 21*time.Minute {
				t.Fatalf("with the clock off by %s ms the client counts %v left, want about 20m", skew, left)
			}
			p.reload()
		}
	})

	t.Run("closeSession ends the session on the server and the next call gets a new one", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		p.click("#chat .count")
		p.waitText("#chat .n", "1")
		p.click("#chat .count")
		p.waitText("#chat .n", "2")
		p.click("#shop .count")
		p.waitText("#shop .n", "1")
		old := evaluate[string](p, `panels.chat.token`)

		mark := srv.rec.len()
		p.click("#chat .logout")
		p.waitText("#chat .status", "Logged out.")
		p.waitText("#chat .n", "–")
		if got := evaluate[*string](p, `panels.chat.token`); got != nil {
			t.Fatalf("the client kept token %q after closeSession", *got)
		}
		if _, ok := p.cookies(srv.url)["chat_sessionid"]; ok {
			t.Fatal("chat_sessionid survived closeSession")
		}
		closeReq := srv.rec.since(mark)
		if len(closeReq) != 1 || closeReq[0].path != "/api/logout" || closeReq[0].method != "POST" || closeReq[0].token != old || closeReq[0].status != 204 {
			t.Fatalf("got %+v, want one POST /api/logout with the session's token, answered 204", closeReq)
		}
		if srv.exists(old) {
			t.Fatal("the session is still in the store after closeSession")
		}

		p.click("#chat .count")
		p.waitText("#chat .n", "1")
		if srv.idOf(evaluate[string](p, `panels.chat.token`)) == srv.idOf(old) {
			t.Fatal("the next session has the closed one's ID")
		}
		p.click("#shop .count")
		p.waitText("#shop .n", "2") // the other prefix's session was not touched
	})

	t.Run("a session the server destroyed answers session_expired in the page", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		p.do(chromedp.SetValue(chromedp.CSS("#chat .login input"), "ann"))
		p.click("#chat .login button")
		p.waitText("#chat .user", "ann")
		tok := evaluate[string](p, `panels.chat.token`)

		if _, err := srv.store.Delete(context.Background(), srv.idOf(tok)); err != nil { // an admin's destroy
			t.Fatal(err)
		}
		mark := srv.rec.len()
		p.click("#chat .whoami")
		p.waitText("#chat .status", "Session expired: the server ended it (the session has expired or was ended; start a new one).")
		if got := evaluate[*string](p, `panels.chat.token`); got != nil {
			t.Fatalf("the client kept token %q after session_expired", *got)
		}
		if r := srv.rec.since(mark)[0]; r.path != "/api/whoami" || r.token != tok || r.status != 401 {
			t.Fatalf("got %+v, want GET /api/whoami with the destroyed token, answered 401", r)
		}
		mark = srv.rec.len()
		p.click("#chat .count")
		p.waitText("#chat .n", "1")
		if r := srv.rec.since(mark)[0]; r.token != "" {
			t.Fatalf("after session_expired the client sent %q, want an empty Session-Id", r.token)
		}
	})

	t.Run("a read the server answers with an empty Session-Id makes the client forget its token", func(t *testing.T) {
		p := b.newPage(t)
		p.open(srv.url + "/")
		p.newClient("g", `{prefix: "g_"}`)
		p.count("g")
		tok := evaluate[string](p, `g.token`)
		if _, err := srv.store.Delete(context.Background(), srv.idOf(tok)); err != nil { // logged out elsewhere
			t.Fatal(err)
		}
		status := evaluate[int](p, `g.fetch("/api/values/n").then((r) => r.status)`)
		if status != http.StatusNotFound {
			t.Fatalf("got %d, want 404 for a value of a session that is gone", status)
		}
		if got := evaluate[*string](p, `g.token`); got != nil {
			t.Fatalf("the client kept token %q", *got)
		}
		if got := evaluate[[]string](p, `events`); !slices.Equal(got, []string{"gone"}) {
			t.Fatalf("got expired events %q, want [gone]", got)
		}
		// A response that carries no session headers at all says nothing.
		p.count("g")
		live := evaluate[string](p, `g.token`)
		if status := evaluate[int](p, `g.fetch("/session.js").then((r) => r.status)`); status != http.StatusOK {
			t.Fatalf("got %d for the script", status)
		}
		if got := evaluate[string](p, `g.token`); got != live {
			t.Fatalf("a response from outside the middleware changed the token to %q", got)
		}
	})

	t.Run("after the idle timeout the form's cookie and the client's token are both gone and both start over", func(t *testing.T) {
		short := startRecordedExample(t, shortIdle)
		p := b.newPage(t)

		// A browser without the JavaScript client: the form on the cookie.
		p.open(short.url + "/form")
		for want := 1; want <= 2; want++ {
			p.submit("#count")
			p.waitText("#n", fmt.Sprint(want))
		}
		cookie := p.cookies(short.url)["session"]
		formExpires, err := time.Parse(time.RFC3339, evaluate[string](p, `document.querySelector("#expires").dateTime`))
		if cookie == nil || err != nil {
			t.Fatalf("no session cookie (%v) or expiry on the form page (%v)", cookie, err)
		}
		if !cookie.HTTPOnly || cookie.SameSite != network.CookieSameSiteLax {
			t.Fatalf("the session cookie has HttpOnly %v, SameSite %v; want HttpOnly, Lax", cookie.HTTPOnly, cookie.SameSite)
		}
		if d := cookie.Expires - float64(formExpires.UnixMilli())/1000; math.Abs(d) > 1.5 {
			t.Fatalf("the cookie expires %.3fs off the session", d)
		}

		// The JavaScript client on the same origin keeps its own session: it
		// is never handed the form's cookie session.
		p.newClient("c", `{persist: true, prefix: "t_"}`)
		if n := p.count("c"); n != 1 {
			t.Fatalf("the JavaScript client got n=%d, want 1: it picked up the form's session", n)
		}
		if r := short.rec.all(); r[len(r)-1].setCookie {
			t.Fatal("the answer to a JavaScript call set a cookie")
		}
		if c := p.cookies(short.url)["session"]; c == nil || short.idOf(c.Value) != short.idOf(cookie.Value) {
			t.Fatal("a JavaScript call changed the form's session")
		}
		old := evaluate[string](p, `c.token`)

		// Wait out both sessions (bounded: the server promised shortIdle).
		last := time.UnixMilli(int64(max(evaluate[float64](p, `c.expires.getTime()`), cookie.Expires*1000)))
		if time.Until(last) > shortIdle+time.Second {
			t.Fatalf("the client's session expires in %v, want at most %v", time.Until(last), shortIdle)
		}
		time.Sleep(time.Until(last) + 200*time.Millisecond)

		if got := evaluate[*string](p, `c.token`); got != nil {
			t.Fatalf("after the timeout the client still has token %q", *got)
		}
		if got := evaluate[[]string](p, `events`); !slices.Equal(got, []string{"timeout"}) {
			t.Fatalf("got expired events %q, want [timeout]", got)
		}
		if _, ok := p.cookies(short.url)["session"]; ok {
			t.Fatal("the browser kept the form's cookie past the session's expiry")
		}
		if short.exists(old) {
			t.Fatal("the store kept the session past its idle timeout")
		}
		mark := short.rec.len()
		if n := p.count("c"); n != 1 {
			t.Fatalf("got n=%d, want a new session's 1", n)
		}
		if r := short.rec.since(mark)[0]; !r.header || r.token != "" {
			t.Fatalf("after the timeout the client sent Session-Id %q (header %v), want an empty one", r.token, r.header)
		}
		p.open(short.url + "/form")
		p.waitText("#n", "0")
		p.waitText("#expires", "no session")
	})
}

// browser is one headless Chromium for the whole test; each page gets its own
// browser context, so cookies never leak between subtests.
type browser struct{ ctx context.Context }

func startBrowser(t *testing.T) *browser {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		testenv.Missing(t, "no Chromium: install Debian's chromium package to run browser tests")
	}
	root, cancelRoot := context.WithTimeout(context.Background(), suiteTimeout)
	t.Cleanup(cancelRoot)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // as root, Chromium has no sandbox to run in
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true), // loopback only, whatever the environment says
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	t.Cleanup(cancelAlloc) // waits for the browser to exit, before TempDir is removed
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return &browser{ctx}
}

// page is one tab in a fresh browser context.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (b *browser) newPage(t *testing.T) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, within the suite's bound
		t.Fatalf("open a tab: %v", err)
	}
	return &page{t, ctx}
}

// newTab opens another tab in the page's browser context: the two share
// cookies, like two tabs of one browser profile.
func (p *page) newTab() *page {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	p.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		p.t.Fatalf("open a second tab: %v", err)
	}
	return &page{p.t, ctx}
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatal(err)
	}
}

// open loads url and waits for its scripts to have run.
func (p *page) open(url string) {
	p.t.Helper()
	p.do(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}

func (p *page) reload() {
	p.t.Helper()
	p.do(chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("body")))
}

func (p *page) click(css string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(css)))
}

// submit clicks a form's button and waits for the page the form leads to.
func (p *page) submit(css string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		p.t.Fatal(err)
	}
}

// waitText waits until the text of the element css is want.
func (p *page) waitText(css, want string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`(css, want) => document.querySelector(css)?.textContent === want`,
		chromedp.WithPollingArgs(css, want),
		chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(stepTimeout),
	))
	if err != nil {
		got := evaluate[*string](p, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? null`, css))
		p.t.Fatalf("%s: waiting for text %q: %v (it reads %v)", css, want, err, deref(got))
	}
}

// newClient makes window[name] a SessionClient with the given options and
// window.events the reasons of its "expired" events.
func (p *page) newClient(name, options string) {
	p.t.Helper()
	evaluate[bool](p, fmt.Sprintf(`import("/session.js").then(({ SessionClient }) => {
		const c = new SessionClient(Object.assign({ closeURL: "/api/logout" }, %s));
		window.events = [];
		c.addEventListener("expired", (e) => window.events.push(e.detail.reason));
		window[%q] = c;
		return true;
	})`, options, name))
}

// count calls the counter through the client window[name].
func (p *page) count(name string) int {
	p.t.Helper()
	return evaluate[int](p, fmt.Sprintf(`window[%q].fetch("/api/counter", { method: "POST" }).then((r) => r.json()).then((d) => d.n)`, name))
}

// cookies returns the browser's cookies for url, by name, HttpOnly ones too.
func (p *page) cookies(url string) map[string]*network.Cookie {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	})
	if err != nil {
		p.t.Fatal(err)
	}
	m := make(map[string]*network.Cookie, len(res.Cookies))
	for _, c := range res.Cookies {
		m[c.Name] = c
	}
	return m
}

// evaluate runs a JavaScript expression in the page, awaiting a promise.
func evaluate[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// recordedExample is the example server, with a record of its API requests.
type recordedExample struct {
	url   string
	store store.Store
	rec   *recorder
	ids   *session.Manager // reads the ID out of a token, without the real store
}

func startRecordedExample(t *testing.T, idle time.Duration) *recordedExample {
	t.Helper()
	return startClockedExample(t, idle, time.Now)
}

// startClockedExample is startRecordedExample on the clock now: the
// session manager's, its store's and the Date header's, so that a page
// whose SessionClient has a clock in step sees no skew.
func startClockedExample(t *testing.T, idle time.Duration, now func() time.Time) *recordedExample {
	t.Helper()
	st := memstore.New(memstore.Config{Now: now})
	t.Cleanup(func() { st.Close() })
	keys := []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}}
	m, err := session.New(session.Config{Store: st, Keys: keys, IdleTimeout: idle, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	scratch := memstore.New(memstore.Config{Now: now})
	t.Cleanup(func() { scratch.Close() })
	ids, err := session.New(session.Config{Store: scratch, Keys: keys, IdleTimeout: idle, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ids.Close() })
	rec := &recorder{}
	router := newRouter(m, "")
	srv := httptest.NewServer(rec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", now().UTC().Format(http.TimeFormat))
		router.ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)
	return &recordedExample{url: srv.URL, store: st, rec: rec, ids: ids}
}

// idOf returns the session ID a token names ("" for none or a bad one).
func (e *recordedExample) idOf(token string) string {
	var id string
	h := e.ids.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = session.FromContext(r.Context()).ID()
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(session.HeaderID, token)
	h.ServeHTTP(httptest.NewRecorder(), r)
	return id
}

// exists reports whether the session a token names is in the store.
func (e *recordedExample) exists(token string) bool {
	_, found, err := e.store.Load(context.Background(), e.idOf(token), 0)
	if err != nil {
		panic(err) // memstore does not fail
	}
	return found
}

// recorder notes what each API request sent and got.
type recorder struct {
	mu   sync.Mutex // protects reqs
	reqs []seen
}

type seen struct {
	method, path string
	header       bool   // a Session-Id header came, perhaps empty
	token        string // its value
	size         int64  // the body's length, -1 unknown
	status       int
	setCookie    bool   // the answer set a cookie
	expires      string // the answer's Session-Expires
}

func (rec *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			h.ServeHTTP(w, r)
			return
		}
		v, header := r.Header[session.HeaderID]
		s := seen{method: r.Method, path: r.URL.Path, header: header, size: r.ContentLength}
		if header {
			s.token = v[0]
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, s)
		i := len(rec.reqs) - 1
		rec.mu.Unlock()
		// The status is noted before the response leaves, so a test that
		// has the response finds it recorded.
		h.ServeHTTP(&statusWriter{ResponseWriter: w, rec: rec, i: i}, r)
	})
}

func (rec *recorder) all() []seen { return rec.since(0) }

func (rec *recorder) len() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

// since returns the requests after the first n.
func (rec *recorder) since(n int) []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs[n:])
}

// statusWriter notes the status of request i. The session middleware inside
// always calls WriteHeader before writing.
type statusWriter struct {
	http.ResponseWriter
	rec *recorder
	i   int
}

func (w *statusWriter) WriteHeader(code int) {
	w.rec.mu.Lock()
	w.rec.reqs[w.i].status = code
	w.rec.reqs[w.i].setCookie = w.Header().Get("Set-Cookie") != ""
	w.rec.reqs[w.i].expires = w.Header().Get(session.HeaderExpires)
	w.rec.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

func deref(s *string) string {
	if s == nil {
		return "<nothing>"
	}
	return fmt.Sprintf("%q", *s)
}
