package session_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
)

// The hostile input table sends what an attacker, a broken client or a
// stale tab sends, through the real middleware and testRoutes, and holds
// each request to its documented answer. Every case also holds to what
// no input may cause: a 500 (except the ErrorHandler's documented answer
// to an undecodable value), another session's data in the body, or a
// store call for a token that does not verify.
//
// It complements, without repeating, TestTokenTransport and
// TestDuplicateCookies (transport_test.go: garbage, tampered, truncated,
// foreign-key and oversized tokens; a bad cookie before a good one),
// TestLimits and TestUndecodableValue (session_test.go: Set's limits one by
// one), FuzzToken (token_test.go) and sqlstore's TestBadInput (hostile bytes
// in SQL statements).

// victimSecret is the value the victim's session holds: no response to a
// request without the victim's token may contain it.
const victimSecret = "victim-secret-7f3a"

// otherAppSecret is held by a session of another application on the same
// store, with the same keys.
const otherAppSecret = "other-app-secret-91c2"

// tokenAnswer is what a response tells the client about its token.
type tokenAnswer int

const (
	// keepToken: no Set-Cookie, no Session-Id; the client keeps what it
	// holds (a cookie whose session ended elsewhere expires with it).
	keepToken tokenAnswer = iota
	// dropToken: the cookie is expired, or the Session-Id is empty: what
	// the client sent is of no use.
	dropToken
	// newToken: a fresh token, different from any the client sent, whose
	// session holds none of the victim's data.
	newToken
)

func (a tokenAnswer) String() string {
	return [...]string{"the token left alone", "the token dropped", "a fresh token"}[a]
}

// hostileWant is a case's documented answer.
type hostileWant struct {
	status int
	code   string // the "error" of the package's JSON answer
	body   string // the application's body, trimmed, when it is the app's answer
	// noStore: the request makes no store call at all (an unverifiable
	// token, or a request refused before anything reached the store).
	noStore bool
	token   tokenAnswer
	// victim: the request carries the victim's own token, so its data may
	// appear.
	victim bool
}

type hostileCase struct {
	class, name string
	answer      string // the documented answer, in words, printed on failure
	config      func(*session.Config)
	prepare     func(f *hostileFixture)
	request     func(f *hostileFixture) *http.Request
	want        hostileWant
	after       func(t *testing.T, f *hostileFixture) // further checks of the state left behind
}

// hostileFixture is one case's world: a manager on a counted store, a
// victim with a live session, and tokens from elsewhere.
type hostileFixture struct {
	t        *testing.T
	e        *env
	clock    *fakeclock.Clock
	advance  func(time.Duration) // the fake clock and the store's own time
	victim   *client
	foreign  string // a live token of this application signed with another key
	otherApp string // a live token of another application, same keys
}

// hostileBackend opens a store for the table, and one of another
// application beside it.
type hostileBackend struct {
	name string
	open func(t *testing.T, clock *fakeclock.Clock) (st, other store.Store, advance func(time.Duration))
}

var hostileBackends = []hostileBackend{
	{"memstore", func(t *testing.T, clock *fakeclock.Clock) (store.Store, store.Store, func(time.Duration)) {
		st, other := memstore.New(memstore.Config{Now: clock.Now}), memstore.New(memstore.Config{Now: clock.Now})
		t.Cleanup(func() { st.Close(); other.Close() })
		return st, other, clock.Advance
	}},
	{"miniredis", func(t *testing.T, clock *fakeclock.Clock) (store.Store, store.Store, func(time.Duration)) {
		mr := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { c.Close() })
		cfg := redisstore.Config{Prefix: "hostile", Application: "shop", Index: true, Now: clock.Now}
		st := redisstore.New(c, cfg)
		cfg.Application = "chat"
		return st, redisstore.New(c, cfg), func(d time.Duration) { clock.Advance(d); mr.FastForward(d) }
	}},
}

func TestHostileInput(t *testing.T) {
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("%d cases: the table promises at least 40", len(cases))
	}
	for _, b := range hostileBackends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.class+"/"+tc.name, func(t *testing.T) {
					f := newHostileFixture(t, b, tc.config)
					if tc.prepare != nil {
						tc.prepare(f)
					}
					r := tc.request(f)
					r.Header.Set("Accept", "application/json")
					f.e.store.Calls()
					w := httptest.NewRecorder()
					f.e.h.ServeHTTP(w, r)
					f.check(tc, r, w, f.e.store.Calls())
					if tc.after != nil && !t.Failed() {
						tc.after(t, f)
					}
				})
			}
		})
	}
}

func newHostileFixture(t *testing.T, b hostileBackend, config func(*session.Config)) *hostileFixture {
	clock := fakeclock.New()
	st, otherSt, advance := b.open(t, clock)
	cfg := session.Config{Store: st, Now: clock.Now, MaxValueSize: 1024, MaxKeys: 4}
	if config != nil {
		config(&cfg)
	}
	f := &hostileFixture{t: t, e: newEnv(t, cfg), clock: clock, advance: advance}
	f.victim = f.e.client()
	f.victim.get(`/set?k=secret&v="` + victimSecret + `"`)

	foreign := newEnv(t, session.Config{Store: otherSt, Now: clock.Now, Keys: []session.Key{{Hash: []byte(strings.Repeat("f", 32))}}}).client()
	foreign.get("/set?k=x&v=1")
	f.foreign = foreign.token
	other := newEnv(t, session.Config{Store: otherSt, Now: clock.Now}).client()
	other.get(`/set?k=secret&v="` + otherAppSecret + `"`)
	f.otherApp = other.token
	return f
}

// get returns a GET of target, with nothing of the client's.
func get(target string) *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }

// withCookie returns a GET of target with a raw Cookie header: bytes that
// http.Cookie would refuse to write go through as a client can send them.
func withCookie(target string, cookie string) *http.Request {
	r := get(target)
	r.Header.Set("Cookie", cookie)
	return r
}

// withHeader returns a GET of target with the Session-Id header(s) values.
func withHeader(target string, values ...string) *http.Request {
	r := get(target)
	r.Header[session.HeaderID] = values
	return r
}

// tampered flips one bit in the middle of tok: a signature that fails.
func tampered(tok string) string {
	b := []byte(tok)
	b[len(b)/2] ^= 1
	return string(b)
}

// sent returns the tokens r carries, header and cookie.
func sent(r *http.Request) []string {
	tokens := r.Header.Values(session.HeaderID)
	for _, c := range r.Cookies() {
		tokens = append(tokens, c.Value)
	}
	return tokens
}

// check holds one response to the case's answer and to what no input may
// cause.
func (f *hostileFixture) check(tc hostileCase, r *http.Request, w *httptest.ResponseRecorder, calls []string) {
	t := f.t
	t.Helper()
	body := strings.TrimSpace(w.Body.String())
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s\n  documented answer: %s\n  got %d %q", fmt.Sprintf(format, args...), tc.answer, w.Code, body)
	}
	if w.Code >= 500 && w.Code != tc.want.status {
		fail("a %d: no input may cause a server error", w.Code)
	}
	if w.Code != tc.want.status {
		fail("got status %d, want %d", w.Code, tc.want.status)
	}
	if tc.want.code != "" {
		var got struct{ Error, Message string }
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Error != tc.want.code || got.Message == "" {
			fail("got body %q, want the JSON error %q with a message", body, tc.want.code)
		}
	}
	if tc.want.body != "" && !strings.Contains(body, tc.want.body) {
		fail("got body %q, want it to contain %q", body, tc.want.body)
	}
	if strings.Contains(body, otherAppSecret) || !tc.want.victim && strings.Contains(body, victimSecret) {
		fail("the response shows another session's data")
	}
	if tc.want.noStore && len(calls) != 0 {
		fail("store calls %v, want none", calls)
	}
	f.checkToken(tc, r, w)
}

// checkToken holds what the response says about the token to the case's
// answer.
func (f *hostileFixture) checkToken(tc hostileCase, r *http.Request, w *httptest.ResponseRecorder) {
	t := f.t
	t.Helper()
	_, header := r.Header[session.HeaderID]
	cookie := cookieOf(w, f.e.m.CookieName())
	ids, hasID := w.Header()[session.HeaderID]
	switch tc.want.token {
	case keepToken:
		if cookie != nil || hasID {
			t.Errorf("got cookie %v and Session-Id %q, want neither (%v); documented answer: %s", cookie, ids, tc.want.token, tc.answer)
		}
	case dropToken:
		switch {
		case header && (len(ids) != 1 || ids[0] != ""):
			t.Errorf("got Session-Id %q, want an empty one (%v); documented answer: %s", ids, tc.want.token, tc.answer)
		case !header && (cookie == nil || cookie.MaxAge >= 0):
			t.Errorf("got cookie %v, want it expired (%v); documented answer: %s", cookie, tc.want.token, tc.answer)
		}
	case newToken:
		tok := w.Header().Get(session.HeaderID)
		if !header && cookie != nil {
			tok = cookie.Value
		}
		for _, old := range sent(r) {
			if tok == old {
				t.Errorf("got the token the client sent back, want a fresh one; documented answer: %s", tc.answer)
			}
		}
		if tok == "" {
			t.Errorf("got no token, want a fresh one; documented answer: %s", tc.answer)
			return
		}
		fresh := &client{e: f.e, header: true, token: tok}
		if got := fresh.get("/get?k=secret"); got != "absent" {
			t.Errorf("the fresh token's session holds secret=%s, want none; documented answer: %s", got, tc.answer)
		}
	}
}

// wantBody reads target with c and fails unless the body is want.
func wantBody(t *testing.T, c *client, target, want string) {
	t.Helper()
	if got := c.get(target); got != want {
		t.Errorf("GET %s: got %q, want %q", target, got, want)
	}
}

// noSession is the answer to a token that does not verify, from a cookie
// or the header: no session, no store call, the token dropped.
var noSession = hostileWant{status: http.StatusNotFound, body: "absent", noStore: true, token: dropToken}

// ignored is the answer to a request whose cookie is not the session's: as
// if nothing was sent.
var ignored = hostileWant{status: http.StatusNotFound, body: "absent", noStore: true, token: keepToken}

func hostileCases() []hostileCase {
	huge := strings.Repeat("A", 1<<20)
	garbage := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\x8f\x00garbage", 8)))
	const read = "/get?k=secret"
	victimCookie := func(f *hostileFixture) string { return "session=" + f.victim.token }
	var cases []hostileCase

	// Transport: what a token can look like on the way in.
	bad := []struct {
		name string
		tok  func(f *hostileFixture) string
	}{
		{"huge (1 MiB)", func(*hostileFixture) string { return huge }},
		{"one byte over MaxTokenLength", func(f *hostileFixture) string { return f.victim.token + strings.Repeat("A", 1025-len(f.victim.token)) }},
		{"wrong signature", func(f *hostileFixture) string { return tampered(f.victim.token) }},
		{"signed with another key", func(f *hostileFixture) string { return f.foreign }},
		{"truncated", func(f *hostileFixture) string { return f.victim.token[:len(f.victim.token)-5] }},
		{"base64 garbage", func(*hostileFixture) string { return garbage }},
		{"non-ASCII", func(f *hostileFixture) string { return "sé✓" + f.victim.token }},
		{"with a NUL byte", func(f *hostileFixture) string { return f.victim.token[:10] + "\x00" + f.victim.token[10:] }},
	}
	for _, b := range bad {
		cases = append(cases,
			hostileCase{class: "transport", name: "cookie " + b.name,
				answer:  "a token that does not verify means no session: no store call, and the cookie is expired",
				request: func(f *hostileFixture) *http.Request { return withCookie(read, "session="+b.tok(f)) },
				want:    noSession},
			hostileCase{class: "transport", name: "header " + b.name,
				answer:  "a token that does not verify means no session: no store call, and an empty Session-Id says so",
				request: func(f *hostileFixture) *http.Request { return withHeader(read, b.tok(f)) },
				want:    noSession})
	}
	cases = append(cases,
		hostileCase{class: "transport", name: "empty cookie",
			answer:  "an empty cookie is no token: no session, nothing said about it",
			request: func(*hostileFixture) *http.Request { return withCookie(read, "session=") },
			want:    ignored},
		hostileCase{class: "transport", name: "empty header beside the victim's cookie",
			answer: "a header client without a token has no session, whatever cookie the origin holds (README: the header wins)",
			request: func(f *hostileFixture) *http.Request {
				r := withHeader(read, "")
				r.Header.Set("Cookie", victimCookie(f))
				return r
			},
			want: ignored},
		hostileCase{class: "transport", name: "header garbage beside the victim's cookie",
			answer: "the header wins: no session, no store call, and the cookie's session is not used",
			request: func(f *hostileFixture) *http.Request {
				r := withHeader(read, garbage)
				r.Header.Set("Cookie", victimCookie(f))
				return r
			},
			want: noSession},
		hostileCase{class: "transport", name: "two Session-Id headers, garbage first",
			answer:  "only the first Session-Id counts: no session, no store call",
			request: func(f *hostileFixture) *http.Request { return withHeader(read, garbage, f.victim.token) },
			want:    noSession},
		hostileCase{class: "transport", name: "the victim's token with a cookie attribute appended in the header",
			answer:  "a header value is the token alone: anything appended fails the signature",
			request: func(f *hostileFixture) *http.Request { return withHeader(read, f.victim.token+"; Path=/") },
			want:    noSession},
		hostileCase{class: "transport", name: "the same cookie twice",
			answer:  "duplicates of one token are that token's session, loaded once",
			request: func(f *hostileFixture) *http.Request { return withCookie(read, victimCookie(f)+"; "+victimCookie(f)) },
			want:    hostileWant{status: http.StatusOK, body: victimSecret, token: keepToken, victim: true}},
		hostileCase{class: "transport", name: "a huge cookie before the victim's",
			answer:  "the cookie that verifies wins; the user's cookie is not deleted",
			request: func(f *hostileFixture) *http.Request { return withCookie(read, "session="+huge+"; "+victimCookie(f)) },
			want:    hostileWant{status: http.StatusOK, body: victimSecret, token: keepToken, victim: true}},
		hostileCase{class: "transport", name: "quoted cookie value",
			answer:  "a quoted cookie value is read as net/http reads it",
			request: func(f *hostileFixture) *http.Request { return withCookie(read, `session="`+f.victim.token+`"`) },
			want:    hostileWant{status: http.StatusOK, body: victimSecret, token: keepToken, victim: true}},
		hostileCase{class: "transport", name: "cookie name in upper case",
			answer:  "cookie names are case-sensitive: SESSION is not the session cookie, and is left alone",
			request: func(f *hostileFixture) *http.Request { return withCookie(read, "SESSION="+f.victim.token) },
			want:    ignored},
		hostileCase{class: "transport", name: "the token under another prefix's cookie",
			answer:  "a cookie of another prefix (chat_session) is another application's: ignored, left alone",
			request: func(f *hostileFixture) *http.Request { return withCookie(read, "chat_session="+f.victim.token) },
			want:    ignored},
		hostileCase{class: "transport", name: "cookie of another application with the same keys",
			answer:  "the token verifies but names no session of this application: no session (one load), and the cookie is left to expire",
			request: func(f *hostileFixture) *http.Request { return withCookie(read, "session="+f.otherApp) },
			want:    hostileWant{status: http.StatusNotFound, body: "absent", token: keepToken}},
		hostileCase{class: "transport", name: "header of another application with the same keys",
			answer:  "the token verifies but names no session of this application: no session, and an empty Session-Id",
			request: func(f *hostileFixture) *http.Request { return withHeader(read, f.otherApp) },
			want:    hostileWant{status: http.StatusNotFound, body: "absent", token: dropToken}},
	)

	// Replay: tokens of sessions that ended, or moved.
	logout := func(f *hostileFixture) {
		old := f.victim.token
		f.victim.do(http.MethodPost, "/close")
		f.victim.token = old // the attacker kept a copy
	}
	cases = append(cases,
		hostileCase{class: "replay", name: "logged-out cookie on a required route",
			answer:  "401 session_expired; the cookie is left to expire",
			prepare: logout,
			request: func(f *hostileFixture) *http.Request { return withCookie("/required", victimCookie(f)) },
			want:    hostileWant{status: http.StatusUnauthorized, code: "session_expired", token: keepToken}},
		hostileCase{class: "replay", name: "logged-out header on a required route",
			answer:  "401 session_expired and an empty Session-Id",
			prepare: logout,
			request: func(f *hostileFixture) *http.Request { return withHeader("/required", f.victim.token) },
			want:    hostileWant{status: http.StatusUnauthorized, code: "session_expired", token: dropToken}},
		hostileCase{class: "replay", name: "logged-out cookie that writes",
			answer:  "a write starts a fresh session with a new ID: the old one is never brought back",
			prepare: logout,
			request: func(f *hostileFixture) *http.Request { return withCookie("/set?k=x&v=1", victimCookie(f)) },
			want:    hostileWant{status: http.StatusOK, body: "ok", token: newToken}},
		hostileCase{class: "replay", name: "the token from before a Renew",
			answer:  "Renew kills the old ID: no session, the data moved with the new token only",
			prepare: func(f *hostileFixture) { old := f.victim.token; f.victim.get("/renew"); f.victim.token = old },
			request: func(f *hostileFixture) *http.Request { return withHeader(read, f.victim.token) },
			want:    hostileWant{status: http.StatusNotFound, body: "absent", token: dropToken}},
	)

	// Fixation: a token the attacker knows, planted before the login.
	plantAndLogin := func(header bool) func(f *hostileFixture) {
		return func(f *hostileFixture) {
			attacker := f.e.client()
			attacker.get("/set?k=x&v=1")
			user := &client{e: f.e, header: header, token: attacker.token} // the planted token
			wantBody(f.t, user, "/login?u=ann", "ok")
			if user.token == attacker.token {
				f.t.Fatalf("the login kept the planted token")
			}
			wantBody(f.t, user, `/set?k=card&v="4111"`, "ok")
			f.victim = attacker // the request below is the attacker's
		}
	}
	cases = append(cases,
		hostileCase{class: "fixation", name: "cookie planted before a login",
			answer:  "Login issues a new ID: the planted token reaches nothing of the logged-in session",
			prepare: plantAndLogin(false),
			request: func(f *hostileFixture) *http.Request { return withCookie("/get?k=card", victimCookie(f)) },
			want:    hostileWant{status: http.StatusNotFound, body: "absent", token: keepToken}},
		hostileCase{class: "fixation", name: "header token planted before a login",
			answer:  "Login issues a new ID: the planted token is dead, and its Session-Id answer is empty",
			prepare: plantAndLogin(true),
			request: func(f *hostileFixture) *http.Request { return withHeader("/user", f.victim.token) },
			want:    hostileWant{status: http.StatusOK, token: dropToken}},
	)

	// Values.
	plant := func(key, raw string) func(f *hostileFixture) {
		return func(f *hostileFixture) {
			id := tokenID(f.t, f.e, f.victim.token)
			if _, err := f.e.store.Store.Update(f.t.Context(), id, storeDelta(key, []byte(raw)), 20*time.Minute, 0); err != nil {
				f.t.Fatalf("plant %q: %v", raw, err)
			}
		}
	}
	unreadable := func(t *testing.T, f *hostileFixture) {
		wantBody(t, f.victim, read, `"`+victimSecret+`"`) // the other keys still read
		wantBody(t, f.victim, `/set?k=bad&v=1`, "ok")
		wantBody(t, f.victim, "/get?k=bad", "1") // Set repairs it
	}
	cases = append(cases,
		hostileCase{class: "values", name: "a value one byte over MaxValueSize",
			answer: "Set fails with ErrValueTooLarge (the app answers 400); nothing is stored",
			request: func(f *hostileFixture) *http.Request {
				return withCookie(`/set?k=big&v="`+strings.Repeat("x", 1023)+`"`, victimCookie(f))
			},
			want:  hostileWant{status: http.StatusBadRequest, body: "value too large", noStore: true, token: keepToken, victim: true},
			after: func(t *testing.T, f *hostileFixture) { wantBody(t, f.victim, "/get?k=big", "absent") }},
		hostileCase{class: "values", name: "a value over MaxValueSize from a client without a session",
			answer:  "Set fails before any session exists: 400, no store call, no session created",
			request: func(*hostileFixture) *http.Request { return get(`/set?k=big&v="` + strings.Repeat("x", 4096) + `"`) },
			want:    hostileWant{status: http.StatusBadRequest, body: "value too large", noStore: true, token: keepToken}},
		hostileCase{class: "values", name: "a value of exactly MaxValueSize",
			answer: "the limit is inclusive: stored",
			request: func(f *hostileFixture) *http.Request {
				return withCookie(`/set?k=big&v="`+strings.Repeat("x", 1022)+`"`, victimCookie(f))
			},
			want: hostileWant{status: http.StatusOK, body: "ok", token: keepToken, victim: true}},
		hostileCase{class: "values", name: "truncated JSON planted in the store",
			answer:  "Get fails with ErrDecode; the handler left it unanswered, so the ErrorHandler's documented 500 session_value_unreadable; other keys read, Set repairs",
			prepare: plant("bad", `{"a":`),
			request: func(f *hostileFixture) *http.Request { return withCookie("/get?k=bad", victimCookie(f)) },
			want:    hostileWant{status: http.StatusInternalServerError, code: "session_value_unreadable", token: keepToken, victim: true},
			after:   unreadable},
		hostileCase{class: "values", name: "binary bytes planted in the store",
			answer:  "as for truncated JSON: 500 session_value_unreadable, only that key fails",
			prepare: plant("bad", "\xff\x00\xfe"),
			request: func(f *hostileFixture) *http.Request { return withCookie("/get?k=bad", victimCookie(f)) },
			want:    hostileWant{status: http.StatusInternalServerError, code: "session_value_unreadable", token: keepToken, victim: true},
			after:   unreadable},
		hostileCase{class: "values", name: "a string planted where the app reads an int",
			answer:  "Get[int] fails with ErrDecode: 500 session_value_unreadable, and the app's change is not saved",
			prepare: plant("n", `"abc"`),
			request: func(f *hostileFixture) *http.Request { return withCookie("/incr", victimCookie(f)) },
			want:    hostileWant{status: http.StatusInternalServerError, code: "session_value_unreadable", token: keepToken, victim: true},
			after:   func(t *testing.T, f *hostileFixture) { wantBody(t, f.victim, "/get?k=n", `"abc"`) }},
		hostileCase{class: "values", name: "Add to a value that is not an integer",
			answer:  "Add fails with ErrNotInteger (the app answers 400); the value is unchanged",
			request: func(f *hostileFixture) *http.Request { return withCookie("/add?k=secret&n=1", victimCookie(f)) },
			want:    hostileWant{status: http.StatusBadRequest, body: "not an integer", token: keepToken, victim: true},
			after:   func(t *testing.T, f *hostileFixture) { wantBody(t, f.victim, read, `"`+victimSecret+`"`) }},
	)

	// Keys.
	badKey := func(name, key string) hostileCase {
		return hostileCase{class: "keys", name: name,
			answer: "Set fails with ErrInvalidKey (the app answers 400) before anything reaches the store",
			request: func(f *hostileFixture) *http.Request {
				return withCookie("/set?k="+url.QueryEscape(key)+"&v=1", victimCookie(f))
			},
			want: hostileWant{status: http.StatusBadRequest, body: "invalid key", noStore: true, token: keepToken, victim: true}}
	}
	cases = append(cases,
		badKey("a key one byte over MaxKeyLength", strings.Repeat("k", 129)),
		badKey("the reserved key @user", "@user"),
		badKey("the key @ alone", "@"),
		badKey("an empty key", ""),
		hostileCase{class: "keys", name: "a key of exactly MaxKeyLength",
			answer: "the limit is inclusive: stored",
			request: func(f *hostileFixture) *http.Request {
				return withCookie("/set?k="+strings.Repeat("k", 128)+"&v=1", victimCookie(f))
			},
			want: hostileWant{status: http.StatusOK, body: "ok", token: keepToken, victim: true}},
		hostileCase{class: "keys", name: "a key of NUL and non-UTF-8 bytes",
			answer:  "keys are bytes: stored and read back as sent",
			request: func(f *hostileFixture) *http.Request { return withCookie("/set?k=%00%ff%fe&v=7", victimCookie(f)) },
			want:    hostileWant{status: http.StatusOK, body: "ok", token: keepToken, victim: true},
			after:   func(t *testing.T, f *hostileFixture) { wantBody(t, f.victim, "/get?k=%00%ff%fe", "7") }},
		hostileCase{class: "keys", name: "a read of the reserved key @user of a logged-in session",
			answer:  "Get refuses '@' keys with ErrInvalidKey before loading: the user's metadata never reaches the handler",
			prepare: func(f *hostileFixture) { wantBody(f.t, f.victim, "/login?u=ann-metadata", "ok") },
			request: func(f *hostileFixture) *http.Request { return withCookie("/get?k=@user", victimCookie(f)) },
			want:    hostileWant{status: http.StatusOK, noStore: true, token: keepToken, victim: true},
			after: func(t *testing.T, f *hostileFixture) {
				if got := f.victim.get("/get?k=@user"); strings.Contains(got, "ann-metadata") {
					t.Errorf("got %q: the user name leaked as a value", got)
				}
			}},
	)

	// Limits.
	full := func(f *hostileFixture) { // MaxKeys is 4; the victim holds secret
		for _, k := range []string{"a", "b", "c"} {
			wantBody(f.t, f.victim, "/set?k="+k+"&v=1", "ok")
		}
	}
	cases = append(cases,
		hostileCase{class: "limits", name: "a write-only fifth key beyond MaxKeys",
			answer:  "the store refuses it at the commit: 413 session_too_large, nothing written",
			prepare: full,
			request: func(f *hostileFixture) *http.Request { return withCookie("/set?k=e&v=1", victimCookie(f)) },
			want:    hostileWant{status: http.StatusRequestEntityTooLarge, code: "session_too_large", token: keepToken, victim: true},
			after:   func(t *testing.T, f *hostileFixture) { wantBody(t, f.victim, "/get?k=e", "absent") }},
		hostileCase{class: "limits", name: "a fifth key beyond MaxKeys in a loaded session",
			answer:  "Set fails with ErrTooManyKeys (the app answers 400)",
			prepare: full,
			request: func(f *hostileFixture) *http.Request { return withCookie("/incr", victimCookie(f)) },
			want:    hostileWant{status: http.StatusBadRequest, body: "too many keys", token: keepToken, victim: true}},
		hostileCase{class: "limits", name: "a new session beyond MaxSessions",
			answer:  "503 too_many_sessions with Retry-After; no session, no cookie",
			config:  func(c *session.Config) { c.MaxSessions = 1 }, // the victim's
			request: func(*hostileFixture) *http.Request { return get("/set?k=x&v=1") },
			want:    hostileWant{status: http.StatusServiceUnavailable, code: "too_many_sessions", token: keepToken}},
		hostileCase{class: "limits", name: "a write of an existing session at MaxSessions",
			answer:  "the limit counts new sessions only: the victim's write is stored",
			config:  func(c *session.Config) { c.MaxSessions = 1 },
			request: func(f *hostileFixture) *http.Request { return withCookie("/set?k=x&v=1", victimCookie(f)) },
			want:    hostileWant{status: http.StatusOK, body: "ok", token: keepToken, victim: true}},
		hostileCase{class: "limits", name: "the 500th request without a token",
			answer: "lazy creation: requests that do not write create no session and make no store call",
			prepare: func(f *hostileFixture) {
				f.e.store.Calls()
				for range 499 {
					f.e.h.ServeHTTP(httptest.NewRecorder(), get(read))
				}
				if calls := f.e.store.Calls(); len(calls) != 0 {
					f.t.Fatalf("store calls %v, want none", calls)
				}
			},
			request: func(*hostileFixture) *http.Request { return get(read) },
			want:    hostileWant{status: http.StatusNotFound, body: "absent", noStore: true, token: keepToken},
			after: func(t *testing.T, f *hostileFixture) {
				if n, err := f.e.m.Count(t.Context()); err != nil || n != 1 {
					t.Errorf("Count: got %d, %v, want 1 (the victim's)", n, err)
				}
			}},
	)

	// Lifetime.
	idle := func(f *hostileFixture) { f.advance(20*time.Minute + time.Second) }
	lifetime := func(c *session.Config) { c.Lifetime = time.Hour }
	keepAlivePastLifetime := func(f *hostileFixture) {
		for range 3 {
			f.advance(15 * time.Minute)
			wantBody(f.t, f.victim, read, `"`+victimSecret+`"`)
		}
		f.advance(15*time.Minute + time.Second) // an hour and a second old, idle 15 minutes
	}
	cases = append(cases,
		hostileCase{class: "lifetime", name: "cookie idle past IdleTimeout on a required route",
			answer:  "401 session_expired; the cookie expires with its session",
			prepare: idle,
			request: func(f *hostileFixture) *http.Request { return withCookie("/required", victimCookie(f)) },
			want:    hostileWant{status: http.StatusUnauthorized, code: "session_expired", token: keepToken}},
		hostileCase{class: "lifetime", name: "header idle past IdleTimeout",
			answer:  "no session, and an empty Session-Id",
			prepare: idle,
			request: func(f *hostileFixture) *http.Request { return withHeader(read, f.victim.token) },
			want:    hostileWant{status: http.StatusNotFound, body: "absent", token: dropToken}},
		hostileCase{class: "lifetime", name: "a write idle past IdleTimeout",
			answer:  "a fresh session with a new ID; the expired one is not brought back",
			prepare: idle,
			request: func(f *hostileFixture) *http.Request { return withCookie("/set?k=x&v=1", victimCookie(f)) },
			want:    hostileWant{status: http.StatusOK, body: "ok", token: newToken}},
		hostileCase{class: "lifetime", name: "an active cookie past Lifetime",
			answer:  "the token alone shows the session is past its Lifetime: 401 session_expired without a store call",
			config:  lifetime,
			prepare: keepAlivePastLifetime,
			request: func(f *hostileFixture) *http.Request { return withCookie("/required", victimCookie(f)) },
			want:    hostileWant{status: http.StatusUnauthorized, code: "session_expired", noStore: true, token: keepToken}},
		hostileCase{class: "lifetime", name: "an active header past Lifetime that writes",
			answer:  "a fresh session with a new ID, the old one's data left behind",
			config:  lifetime,
			prepare: keepAlivePastLifetime,
			request: func(f *hostileFixture) *http.Request { return withHeader("/set?k=x&v=1", f.victim.token) },
			want:    hostileWant{status: http.StatusOK, body: "ok", token: newToken}},
	)
	return cases
}
