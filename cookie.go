package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// HeaderID is the request and response header that carries the session
// token for API and JavaScript clients.
const HeaderID = "Session-Id"

// HeaderExpires is the response header that says when the session expires,
// in RFC 3339 with milliseconds, UTC, whenever the response has a session.
const HeaderExpires = "Session-Expires"

// ExpiresFormat is the layout of the Session-Expires header.
const ExpiresFormat = "2006-01-02T15:04:05.000Z07:00"

func formatExpires(t time.Time) string { return t.UTC().Format(ExpiresFormat) }

// tokenName is bound into every token's signature. It is the same for the
// cookie and the header so that a token moves freely between the two.
const tokenName = "session"

const (
	idBytes      = 16 // 128 bits from crypto/rand
	tokenVersion = 1
	payloadSize  = 1 + idBytes + 8 + 8
)

// token is what a signed token says: which session, created when (for the
// absolute Lifetime) and issued when (the store's expiry was set then, which
// is what makes skipping a touch safe).
type token struct {
	id      string
	created time.Time
	issued  time.Time
}

// newID returns a fresh session ID: 128 random bits, base64url.
func newID() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenCodec signs and verifies tokens with the configured keys.
type tokenCodec struct {
	codecs []securecookie.Codec
}

func newTokenCodec(keys []Key, maxLength int) tokenCodec {
	tc := tokenCodec{codecs: make([]securecookie.Codec, len(keys))}
	for i, k := range keys {
		sc := securecookie.New(k.Hash, k.Block)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(0) // our own instants decide expiry, from the injectable clock
		sc.MaxLength(maxLength)
		tc.codecs[i] = sc
	}
	return tc
}

func (tc tokenCodec) encode(t token) (string, error) {
	var p [payloadSize]byte
	p[0] = tokenVersion
	if n, err := base64.RawURLEncoding.Decode(p[1:1+idBytes], []byte(t.id)); err != nil || n != idBytes {
		return "", errBadID
	}
	binary.BigEndian.PutUint64(p[1+idBytes:], uint64(t.created.UnixMilli()))
	binary.BigEndian.PutUint64(p[1+idBytes+8:], uint64(t.issued.UnixMilli()))
	return tc.codecs[0].Encode(tokenName, p[:])
}

// decode verifies a token against every key. ok is false for anything that is
// not a well-formed token signed by one of the keys.
func (tc tokenCodec) decode(s string) (t token, ok bool) {
	var p []byte
	if err := securecookie.DecodeMulti(tokenName, s, &p, tc.codecs...); err != nil {
		return t, false
	}
	if len(p) != payloadSize || p[0] != tokenVersion {
		return t, false
	}
	t.id = base64.RawURLEncoding.EncodeToString(p[1 : 1+idBytes])
	t.created = time.UnixMilli(int64(binary.BigEndian.Uint64(p[1+idBytes:])))
	t.issued = time.UnixMilli(int64(binary.BigEndian.Uint64(p[1+idBytes+8:])))
	return t, true
}

// readToken finds the raw token of a request: the Session-Id header, else the
// cookie. fromHeader reports that the client speaks the header protocol (it
// sent the header, even empty), and then its cookie is ignored: a JavaScript
// client without a token must not pick up a cookie set for another client.
func (m *Manager) readToken(r *http.Request) (raw string, fromHeader bool) {
	if m.cfg.Transport != TransportCookie {
		if v, ok := r.Header[HeaderID]; ok {
			if len(v) > 0 {
				raw = v[0]
			}
			return raw, true
		}
	}
	if m.cfg.Transport != TransportHeader {
		raw, _ = cookieValue(r.Header["Cookie"], m.cookieName)
	}
	return raw, false
}

// cookieValue returns the value of the first cookie named name in the Cookie
// header lines, like http.Request.Cookie but without allocating: it runs on
// every request. The value is not validated; the token's signature is.
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				v := part[len(name)+1:]
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v, true
			}
		}
	}
	return "", false
}

// cookieAttributes returns the attributes every session cookie carries, as
// they follow the value in Set-Cookie, after checking them with net/http's
// own rules. Secure is added per request.
func cookieAttributes(name string, cc CookieConfig) (string, error) {
	c := http.Cookie{Name: name, Value: "x", Path: cc.Path, Domain: cc.Domain, SameSite: cc.SameSite, HttpOnly: !cc.AllowScripts}
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
	if m.cfg.Cookie.Secure || r.TLS != nil {
		b = append(b, "; Secure"...)
	}
	h["Set-Cookie"] = append(h["Set-Cookie"], string(b))
}
