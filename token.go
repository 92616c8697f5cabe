package session

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
)

// A session ID is 16 bytes from crypto/rand in unpadded base64url: 22
// characters, 128 bits.
const idBytes = 16

// newID returns a fresh session ID.
func newID() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// renewedID returns a fresh session ID to replace old: it keeps old's first
// character, which the store contract lets stores shard by (so a renewal is
// one atomic move within a shard), and draws the other 122 bits afresh.
func renewedID(old string) string {
	id := []byte(newID())
	id[0] = old[0]
	// The first character's 6 bits all come from the first byte; the second
	// character mixes its last 2 bits with the second byte's, so it is still
	// any character: nothing else needs fixing.
	return string(id)
}

// token is what a signed token says: which session, created when (for the
// absolute Lifetime) and issued when (the store's expiry was set then, which
// is what makes skipping a touch safe).
type token struct {
	id      string
	created time.Time
	issued  time.Time
}

// tokenName is bound into every token's signature. It is the same for the
// cookie and the header so that a token moves freely between the two.
const tokenName = "session"

// The token's payload: version, ID, created and issued in Unix milliseconds.
const (
	tokenVersion = 1
	payloadSize  = 1 + idBytes + 8 + 8
)

// errBadID means a token was to be made for an ID that newID did not make.
var errBadID = errors.New("session: malformed session ID")

// tokenCodec signs and verifies tokens with the configured keys, through
// gorilla/securecookie (HMAC-SHA256, and AES when a Key has a Block). A
// first key without a Block signs through signer instead, which writes
// securecookie's format at a fraction of its cost.
type tokenCodec struct {
	codecs []securecookie.Codec
	signer *signer // nil when the first key has a Block
}

func newTokenCodec(keys []Key, maxLength int) tokenCodec {
	tc := tokenCodec{codecs: make([]securecookie.Codec, len(keys))}
	for i, k := range keys {
		// securecookie keeps the slices it is given: copies, so that a
		// caller wiping or reusing its key buffers after New changes
		// neither what signs nor what verifies.
		var block []byte // an empty Block is no Block, as Key says
		if len(k.Block) > 0 {
			block = bytes.Clone(k.Block)
		}
		sc := securecookie.New(bytes.Clone(k.Hash), block)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(0) // our own instants decide expiry, from the injectable clock
		sc.MaxLength(maxLength)
		tc.codecs[i] = sc
	}
	if len(keys[0].Block) == 0 {
		tc.signer = newSigner(keys[0].Hash, maxLength)
	}
	return tc
}

// encode signs t with the first key.
func (tc tokenCodec) encode(t token) (string, error) {
	var p [payloadSize]byte
	p[0] = tokenVersion
	if n, err := base64.RawURLEncoding.Decode(p[1:1+idBytes], []byte(t.id)); err != nil || n != idBytes {
		return "", errBadID
	}
	binary.BigEndian.PutUint64(p[1+idBytes:], uint64(t.created.UnixMilli()))
	binary.BigEndian.PutUint64(p[1+idBytes+8:], uint64(t.issued.UnixMilli()))
	if tc.signer != nil {
		return tc.signer.sign(p[:], time.Now().Unix())
	}
	return tc.codecs[0].Encode(tokenName, p[:])
}

// signer writes what securecookie's Encode writes for a codec with a hash
// key, no block and the NopEncoder, byte for byte, so that either decodes
// the other's tokens:
//
//	base64url(timestamp "|" base64url(payload) "|" HMAC-SHA256(tokenName "|" timestamp "|" base64url(payload)))
//
// with padded base64url and the timestamp in Unix seconds, which
// securecookie checks only when MaxAge is set (ours is 0). Encode builds a
// new HMAC, formats with fmt and allocates each step: about 15 allocations
// and a fifth of a new session's CPU on memstore. signer keeps its HMACs in
// a pool and builds the token on the stack: one allocation, the string.
type signer struct {
	maxLength int
	macs      sync.Pool // of hash.Hash: HMAC-SHA256 with the key
}

func newSigner(key []byte, maxLength int) *signer {
	key = append([]byte(nil), key...)
	return &signer{
		maxLength: maxLength,
		macs:      sync.Pool{New: func() any { return hmac.New(sha256.New, key) }},
	}
}

// signedMax bounds the signed message of a payload of payloadSize: the
// name, a timestamp of at most 20 characters, the encoded payload, three
// separators and the MAC.
const signedMax = len(tokenName) + 20 + (payloadSize+2)/3*4 + 3 + sha256.Size

// sign returns the token for payload, stamped with the Unix time ts.
func (s *signer) sign(payload []byte, ts int64) (string, error) {
	var buf [signedMax]byte
	b := append(buf[:0], tokenName...)
	b = append(b, '|')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '|')
	b = base64.URLEncoding.AppendEncode(b, payload)
	mac := s.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(b)
	b = append(b, '|')
	b = mac.Sum(b)
	s.macs.Put(mac)
	signed := b[len(tokenName)+1:]
	n := base64.URLEncoding.EncodedLen(len(signed))
	if s.maxLength != 0 && n > s.maxLength {
		return "", fmt.Errorf("session: a token would be %d bytes, more than MaxTokenLength %d", n, s.maxLength)
	}
	var out [(signedMax + 2) / 3 * 4]byte
	base64.URLEncoding.Encode(out[:n], signed)
	return string(out[:n]), nil
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

// verifiedToken is a token that verified, with what every request bearing
// it will need again.
type verifiedToken struct {
	token
	// expiry is when the session expires while it has not been touched
	// since the token was issued (Manager.expiry of its instants), and
	// expires the Session-Expires header value that says so: shared by
	// every response that carries it, never modified.
	expiry  time.Time
	expires []string
}

// verify returns what a raw token says, or nil if it is not a token signed
// by one of the keys.
func (m *Manager) verify(raw string) *verifiedToken {
	if raw == "" || len(raw) > m.cfg.MaxTokenLength {
		return nil
	}
	if vt := m.cache.get(raw); vt != nil {
		return vt
	}
	t, ok := m.tokens.decode(raw)
	if !ok {
		return nil
	}
	expiry := m.expiry(t.created, t.issued)
	vt := &verifiedToken{token: t, expiry: expiry, expires: []string{formatExpires(expiry)}}
	m.cache.put(raw, vt)
	return vt
}

// issue signs a token for the session's ID and instants, and remembers it as
// verified: the client sends it back next.
func (m *Manager) issue(t token, expires []string) (string, error) {
	raw, err := m.tokens.encode(t)
	if err != nil {
		return "", err
	}
	m.cache.put(raw, &verifiedToken{token: t, expiry: m.expiry(t.created, t.issued), expires: expires})
	return raw, nil
}

// tokenCache remembers tokens that verified, so that a token a client sends
// with request after request has its HMAC checked once, not every time: the
// check costs more than the rest of a request on memstore. Only verified
// tokens enter; a shard that fills up is emptied, so memory stays bounded
// (about 4 MB) whoever sends what.
type tokenCache struct {
	seed   maphash.Seed
	shards [tokenCacheShards]tokenShard
}

const (
	tokenCacheShards   = 16
	tokenCacheShardCap = 1024
)

type tokenShard struct {
	mu sync.RWMutex // protects m
	m  map[string]*verifiedToken
}

func newTokenCache() *tokenCache {
	return &tokenCache{seed: maphash.MakeSeed()}
}

func (c *tokenCache) shard(raw string) *tokenShard {
	return &c.shards[maphash.String(c.seed, raw)%tokenCacheShards]
}

func (c *tokenCache) get(raw string) *verifiedToken {
	sh := c.shard(raw)
	sh.mu.RLock()
	vt := sh.m[raw]
	sh.mu.RUnlock()
	return vt
}

func (c *tokenCache) put(raw string, vt *verifiedToken) {
	sh := c.shard(raw)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil || len(sh.m) >= tokenCacheShardCap {
		sh.m = make(map[string]*verifiedToken, tokenCacheShardCap)
	}
	// raw may be a slice of a whole Cookie header: keep only the token.
	sh.m[strings.Clone(raw)] = vt
}
