package session

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/memstore"
)

// cookieValues lists the values of the cookies named name, in order, as
// readToken walks them with nextCookie.
func cookieValues(lines []string, name string) []string {
	var values []string
	for _, line := range lines {
		for line != "" {
			v, rest, ok := nextCookie(line, name)
			if ok {
				values = append(values, v)
			}
			line = rest
		}
	}
	return values
}

func TestNextCookie(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"one cookie", []string{"session=abc"}, []string{"abc"}},
		{"among others, with spaces", []string{"a=1;  session=abc ; b=2"}, []string{"abc"}},
		{"a longer name that ends like ours is not ours", []string{"xsession=bad; session=good"}, []string{"good"}},
		{"a name that starts like ours is not ours", []string{"session_x=bad"}, nil},
		{"quoted", []string{`session="abc"`}, []string{"abc"}},
		{"on a second header line", []string{"a=1", "session=abc"}, []string{"abc"}},
		{"two, in the order sent", []string{"session=first; session=second"}, []string{"first", "second"}},
		{"empty value", []string{"session="}, []string{""}},
		{"spaces before '=', which net/http trims from the name", []string{"session =abc; session\t= x"}, []string{"abc", " x"}},
		{"absent", []string{"a=1; b=2"}, nil},
		{"no header", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cookieValues(tt.lines, "session"); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzNextCookie checks the allocation-free parser against net/http: every
// non-empty session cookie net/http reads, the parser reads too, in the same
// order, so that no token a client sent is missed. The parser may also
// yield values net/http refuses (with a '"' inside, say): those cannot
// verify, as tokens are base64url, and readToken skips them.
func FuzzNextCookie(f *testing.F) {
	for _, s := range []string{"session=abc", "a=1; session=x", `session="q"`, "session", ";;session=;", "xsession=1; session=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got := cookieValues([]string{line}, "session")
		r := &http.Request{Header: http.Header{"Cookie": {line}}}
		var want []string
		for _, c := range r.CookiesNamed("session") {
			if c.Value != "" {
				want = append(want, c.Value)
			}
		}
		rest := got
		for _, w := range want {
			i := slices.Index(rest, w)
			if i < 0 {
				t.Fatalf("Cookie: %q: net/http read %q, nextCookie %q: it misses %q or reads it out of order", line, want, got, w)
			}
			rest = rest[i+1:]
		}
	})
}

// TestSetCookieMatchesNetHTTP checks the hand-built Set-Cookie against the
// http.Cookie it stands for, parsed back by net/http.
func TestSetCookieMatchesNetHTTP(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, cc := range []CookieConfig{
		{},
		{Prefix: "chat_", Domain: "example.com", Path: "/app", SameSite: http.SameSiteStrictMode, Secure: true},
		{HostPrefix: true, AllowScripts: true, SameSite: http.SameSiteNoneMode},
		{Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true},
	} {
		st := memstore.New(memstore.Config{})
		defer st.Close()
		m, err := New(Config{Store: st, Keys: []Key{{Hash: []byte("0123456789abcdef0123456789abcdef")}}, Cookie: cc})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		for _, expires := range []time.Time{now.Add(20*time.Minute + 500*time.Millisecond), {}} {
			h := http.Header{}
			m.setCookie(h, &http.Request{}, "tok-en_=", expires, now)
			got, err := http.ParseSetCookie(h.Get("Set-Cookie"))
			if err != nil {
				t.Fatal(err)
			}
			want := &http.Cookie{Name: m.cookieName, Value: "tok-en_=", Path: m.cfg.Cookie.Path, Domain: cc.Domain,
				Secure: m.cfg.Cookie.Secure, HttpOnly: !cc.AllowScripts, SameSite: m.cfg.Cookie.SameSite, Partitioned: cc.Partitioned,
				MaxAge: 1201, Expires: expires.Truncate(time.Second)}
			if expires.IsZero() {
				want.MaxAge, want.Expires = -1, time.Unix(1, 0).UTC()
			}
			want, _ = http.ParseSetCookie(want.String())
			if got.String() != want.String() {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		}
	}
}
