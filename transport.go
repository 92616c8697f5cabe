package session

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HeaderID is the request and response header that carries the session
// token for API and JavaScript clients.
const HeaderID = "Session-Id"

// HeaderExpires is the response header that says when the session expires,
// in RFC 3339 with milliseconds, UTC, whenever the response has a session.
// time.Parse(time.RFC3339, v) reads it.
const HeaderExpires = "Session-Expires"

const expiresLayout = "2006-01-02T15:04:05.000Z07:00"

func formatExpires(t time.Time) string { return t.UTC().Format(expiresLayout) }

// tokenSource says how the client sent its token, which decides how the
// token goes back.
type tokenSource uint8

const (
	sourceNone   tokenSource = iota // neither header nor session cookie
	sourceCookie                    // a session cookie, valid or not
	sourceHeader                    // the Session-Id header, even empty: the header protocol
)

// readToken finds the token of a request: the Session-Id header, else the
// session cookie. A client that sent the header (even empty) speaks the
// header protocol, and its cookie is ignored: a JavaScript client without a
// token must not pick up a cookie set for another client of the origin.
//
// Of several session cookies (a sibling subdomain can add one for the
// parent domain) the first that verifies is used, and the others that
// verify are kept for when its session turns out to be gone (Session.next),
// so that a planted cookie can neither log the user out nor, unless its own
// session is live, pin them to another session. vt is what the token says
// when tok is tokenValid; more reports that other session cookies followed
// the one that verified (Session.next may need them).
func (m *Manager) readToken(r *http.Request) (vt *verifiedToken, tok tokenState, src tokenSource, more bool) {
	if m.cfg.Transport != TransportCookie {
		if v, ok := r.Header[HeaderID]; ok {
			if len(v) == 0 || v[0] == "" {
				return nil, tokenNone, sourceHeader, false
			}
			if vt = m.verify(v[0]); vt != nil {
				return vt, tokenValid, sourceHeader, false
			}
			return nil, tokenInvalid, sourceHeader, false
		}
	}
	if m.cfg.Transport == TransportHeader {
		return nil, tokenNone, sourceNone, false
	}
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var v string
			var ok bool
			v, line, ok = nextCookie(line, m.cookieName)
			if !ok || v == "" {
				continue
			}
			if vt != nil {
				return vt, tokenValid, sourceCookie, true // others: see otherTokens
			}
			if vt = m.verify(v); vt == nil {
				tok, src = tokenInvalid, sourceCookie
			}
		}
	}
	if vt != nil {
		return vt, tokenValid, sourceCookie, false
	}
	return nil, tok, src, false
}

// otherTokens returns the verified session cookies of a request besides
// first, in the order sent. It runs only for a request that sent more than
// one session cookie.
func (m *Manager) otherTokens(r *http.Request, first *verifiedToken) []*verifiedToken {
	var others []*verifiedToken
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var v string
			var ok bool
			v, line, ok = nextCookie(line, m.cookieName)
			if !ok {
				continue
			}
			if vt := m.verify(v); vt != nil && vt != first && vt.id != first.id {
				others = append(others, vt)
			}
		}
	}
	return others
}

// nextCookie reads the first cookie of a Cookie header line and returns its
// value if it is named name, and the rest of the line. It is
// http.Request.Cookie without the allocations, since it runs on every
// request; the value is not validated, the token's signature is.
func nextCookie(line, name string) (value, rest string, ok bool) {
	part, rest, _ := strings.Cut(line, ";")
	part = strings.TrimSpace(part)
	if len(part) <= len(name) || part[:len(name)] != name {
		return "", rest, false
	}
	// net/http trims the name, so "session =v" is a session cookie too.
	after := strings.TrimLeft(part[len(name):], " \t\r\n")
	if after == "" || after[0] != '=' {
		return "", rest, false
	}
	v := after[1:]
	if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return v, rest, true
}

// cookieAttributes returns the attributes every session cookie carries, as
// they follow the value in Set-Cookie, after checking them with net/http's
// own rules. Without CookieConfig.Secure, Secure is added per request.
func cookieAttributes(name string, cc CookieConfig) (string, error) {
	c := http.Cookie{Name: name, Value: "x", Path: cc.Path, Domain: cc.Domain, SameSite: cc.SameSite, HttpOnly: !cc.AllowScripts,
		Secure: cc.Secure, Partitioned: cc.Partitioned}
	if err := c.Valid(); err != nil {
		return "", fmt.Errorf("session: Config.Cookie: %w", err)
	}
	// http.Cookie.String of the same cookie, less its name and value.
	return strings.TrimPrefix(c.String(), name+"=x"), nil
}

// setCookie sets the session cookie to value, expiring at expires; a zero
// expires deletes the cookie. It appends the header itself rather than go
// through http.Cookie.String, which re-checks every byte of attributes that
// were checked once in New and of a token that is base64url by construction.
func (m *Manager) setCookie(h http.Header, r *http.Request, value string, expires, now time.Time) {
	b := make([]byte, 0, len(m.cookieName)+len(value)+len(m.cookieAttrs)+80)
	b = append(b, m.cookieName...)
	b = append(b, '=')
	b = append(b, value...)
	b = append(b, m.cookieAttrs...)
	if expires.IsZero() {
		b = append(b, "; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"...)
	} else {
		b = append(b, "; Expires="...)
		b = expires.UTC().AppendFormat(b, http.TimeFormat)
		b = append(b, "; Max-Age="...)
		b = strconv.AppendInt(b, int64((expires.Sub(now)+time.Second-1)/time.Second), 10)
	}
	if !m.cfg.Cookie.Secure && r.TLS != nil {
		b = append(b, "; Secure"...)
	}
	h["Set-Cookie"] = append(h["Set-Cookie"], string(b))
}

// Header values shared by every response that needs them; addHeader never
// lets an append write into them.
var (
	varyCookieAndHeader = []string{"Cookie", HeaderID}
	varyCookie          = []string{"Cookie"}
	varyHeader          = []string{HeaderID}
	exposeExpires       = []string{HeaderExpires}
	exposeBoth          = []string{HeaderID + ", " + HeaderExpires}
	cacheNoSetCookie    = []string{`no-cache="Set-Cookie"`}
	emptyValue          = []string{""}
	cacheNoSessionID    = []string{`no-cache="Session-Id"`}
)

// addHeader adds shared values to h[key] without copying them when the key
// is new, and without ever appending into them.
func addHeader(h http.Header, key string, values []string) {
	if old, ok := h[key]; ok {
		h[key] = append(old, values...)
		return
	}
	h[key] = values[:len(values):len(values)]
}

// writeHeaders tells the client about its session once it is saved: a new
// token when one was issued, the expiry whenever there is a session, an
// expired cookie or an empty Session-Id when the token it sent is of no use.
// s.mu must be held.
func (m *Manager) writeHeaders(s *Session, h http.Header, r *http.Request) {
	cookies := m.cfg.Transport != TransportHeader && s.source != sourceHeader
	// The token goes in a header only to clients of the header protocol, and
	// to a request that came with no cookie (a new client of either kind):
	// never to a cookie client, or any script on the page could read the
	// token of an HttpOnly session.
	headers := m.cfg.Transport == TransportHeader ||
		m.cfg.Transport == TransportBoth && s.source != sourceCookie
	// Only a cross-origin script needs the session headers exposed, and its
	// requests always carry Origin; same-origin scripts read every header.
	_, cors := r.Header["Origin"]
	exposable := cors && m.cfg.Transport != TransportCookie

	if s.tok != tokenNone || s.state != stateNone || s.accessed {
		switch {
		case cookies && headers:
			addHeader(h, "Vary", varyCookieAndHeader)
		case cookies:
			addHeader(h, "Vary", varyCookie)
		default:
			addHeader(h, "Vary", varyHeader)
		}
	}

	switch {
	case s.down:
		// The request ran without its session (Config.StoreDown): the
		// token says nothing about it, and stays for when the store is
		// back.
	case s.state != stateStored:
		// No session: say so only about a token that was sent.
		switch {
		case s.tok == tokenNone:
		case cookies && s.tok == tokenGone:
			// A cookie whose session ended elsewhere (a timeout, a logout
			// elsewhere, or a login of this very browser that moved it
			// while this request was on its way) is left alone: deleting
			// it could delete the cookie that login just set. It expires
			// with the session it named.
		case cookies:
			// A token that does not verify, or a session this request
			// destroyed.
			m.setCookie(h, r, "", time.Time{}, time.Time{})
			addHeader(h, "Cache-Control", cacheNoSetCookie)
		case s.source == sourceHeader:
			// An empty Session-Id says "the token you sent is of no use":
			// a client can forget it without guessing from absent headers.
			h[HeaderID] = emptyValue
			if exposable {
				addHeader(h, "Access-Control-Expose-Headers", exposeBoth)
			}
		}

	case !s.reissue:
		// The client's token still says it all.
		h[HeaderExpires] = s.tokenExpires()
		if exposable {
			addHeader(h, "Access-Control-Expose-Headers", exposeExpires)
		}

	default:
		s.reissue = false
		expires := []string{formatExpires(s.expires)}
		h[HeaderExpires] = expires
		tok, err := m.issue(token{id: s.id, created: s.created, issued: s.issued}, expires)
		if err != nil {
			m.cfg.OnError(s.hookRequest(), err)
			return
		}
		if cookies {
			m.setCookie(h, r, tok, s.expires, m.cfg.Now())
			addHeader(h, "Cache-Control", cacheNoSetCookie)
		}
		switch {
		case headers:
			h.Set(HeaderID, tok)
			addHeader(h, "Cache-Control", cacheNoSessionID)
			if exposable {
				addHeader(h, "Access-Control-Expose-Headers", exposeBoth)
			}
		case exposable:
			addHeader(h, "Access-Control-Expose-Headers", exposeExpires)
		}
	}
}

// tokenExpires returns the Session-Expires value of the client's token,
// right while the expiry has not moved since it was issued; nil without a
// token.
func (s *Session) tokenExpires() []string {
	if s.token == nil {
		return nil
	}
	return s.token.expires
}
