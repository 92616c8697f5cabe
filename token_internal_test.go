package session

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/seed58a3dad2/session/memstore"
)

func TestTokenCacheStaysBounded(t *testing.T) {
	c := newTokenCache()
	for i := range tokenCacheShards * tokenCacheShardCap * 3 {
		c.put(fmt.Sprint("token-", i), &verifiedToken{})
	}
	for i := range c.shards {
		if n := len(c.shards[i].m); n > tokenCacheShardCap {
			t.Fatalf("shard %d holds %d tokens, want at most %d", i, n, tokenCacheShardCap)
		}
	}
}

func TestOnlyVerifiedTokensAreCached(t *testing.T) {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	m, err := New(Config{Store: st, Keys: []Key{{Hash: []byte("0123456789abcdef0123456789abcdef")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	now := time.Now()
	good, err := m.tokens.encode(token{id: newID(), created: now, issued: now})
	if err != nil {
		t.Fatal(err)
	}
	bad := good[:len(good)-2] + "AA"
	if m.verify(bad) != nil || m.cache.get(bad) != nil {
		t.Fatal("a tampered token verified or was cached")
	}
	first := m.verify(good)
	if first == nil || m.cache.get(good) != first || m.verify(good) != first {
		t.Fatal("a good token was not verified once and then served from the cache")
	}
	if !first.issued.Equal(now.Truncate(time.Millisecond)) || len(first.id) != 22 {
		t.Fatalf("got %+v", first.token)
	}
}

// FuzzTokenCodec holds the token codec to its promises for any session ID
// bytes, instants and alterations: a token it signs decodes to what it was
// given, with the key or the encryption key alike; a cut one fails to
// verify; a token with bits flipped or bytes appended verifies, if at all,
// as the very same token, never as another (base64 ignores "\r" and "\n"
// and the unused bits of the last character, so such variants exist; no
// browser or net/http server passes "\r" in a header); and no input,
// signed or not, makes decode panic or report a payload of the wrong shape.
func FuzzTokenCodec(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), int64(1772600767000), int64(1772600827000), uint(40), byte(1), "")
	f.Add(make([]byte, idBytes), int64(0), int64(-1), uint(0), byte(0x80), "|")
	f.Add([]byte{0xff, 0xfe, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, int64(-62135596800000), int64(1<<62), uint(1000), byte(0xff), "MTc3MjYw")
	hash := []byte("0123456789abcdef0123456789abcdef")
	codecs := []tokenCodec{
		newTokenCodec([]Key{{Hash: hash}}, defaultMaxTokenLength),
		newTokenCodec([]Key{{Hash: hash, Block: hash[:16]}}, defaultMaxTokenLength),
	}
	f.Fuzz(func(t *testing.T, idRaw []byte, created, issued int64, pos uint, bit byte, junk string) {
		for _, tc := range codecs {
			// Whatever arrives decodes to a well-formed token or to nothing.
			if got, ok := tc.decode(junk); ok && len(got.id) != 22 {
				t.Fatalf("decode(%q): got ID %q, want 22 characters", junk, got.id)
			}
			if len(idRaw) != idBytes {
				continue
			}
			in := token{id: base64.RawURLEncoding.EncodeToString(idRaw), created: time.UnixMilli(created), issued: time.UnixMilli(issued)}
			raw, err := tc.encode(in)
			if err != nil {
				t.Fatalf("encode(%+v): %v", in, err)
			}
			got, ok := tc.decode(raw)
			if !ok || got.id != in.id || !got.created.Equal(in.created) || !got.issued.Equal(in.issued) {
				t.Fatalf("decode(encode(%+v)): got %+v, %v", in, got, ok)
			}
			if bit != 0 {
				b := []byte(raw)
				b[pos%uint(len(b))] ^= bit
				if got, ok := tc.decode(string(b)); ok && !sameToken(got, in) {
					t.Fatalf("a token with bits %#x of byte %d flipped verified as %+v", bit, pos%uint(len(b)), got)
				}
			}
			if cut := raw[:pos%uint(len(raw))]; func() bool { _, ok := tc.decode(cut); return ok }() {
				t.Fatalf("a token cut to %d of %d bytes verified", len(cut), len(raw))
			}
			if junk != "" {
				if got, ok := tc.decode(raw + junk); ok && !sameToken(got, in) {
					t.Fatalf("a token with %q appended verified as %+v", junk, got)
				}
			}
		}
	})
}

// sameToken reports whether a and b say the same thing. A flipped bit may
// leave a token that still verifies only by decoding to the same bytes:
// base64 ignores the unused low bits of its last character.
func sameToken(a, b token) bool {
	return a.id == b.id && a.created.Equal(b.created) && a.issued.Equal(b.issued)
}

// TestSignerWritesSecurecookiesFormat holds signer to what securecookie's
// Encode writes for the same key, payload and second, byte for byte: tokens
// signed by either verify with the other, so a farm may run versions that
// sign either way, and no token issued before signer existed is refused.
func TestSignerWritesSecurecookiesFormat(t *testing.T) {
	keys := [][]byte{
		[]byte("0123456789abcdef0123456789abcdef"),
		[]byte("a key of an odd length, 41 bytes long..."),
		make([]byte, 64),
		[]byte("k"),
		[]byte(strings.Repeat("longer than HMAC-SHA256's block, so hashed first. ", 3)),
	}
	instants := []time.Time{time.UnixMilli(0), time.UnixMilli(1), time.Date(2026, 11, 30, 17, 0, 0, 123e6, time.UTC), time.UnixMilli(1<<62 - 1)}
	for _, key := range keys {
		tc := newTokenCodec([]Key{{Hash: key}}, 4096)
		sc := tc.codecs[0].(*securecookie.SecureCookie)
		for _, at := range instants {
			tok := token{id: newID(), created: at, issued: at.Add(time.Hour)}
			var p [payloadSize]byte
			p[0] = tokenVersion
			_, _ = base64.RawURLEncoding.Decode(p[1:1+idBytes], []byte(tok.id))
			binary.BigEndian.PutUint64(p[1+idBytes:], uint64(tok.created.UnixMilli()))
			binary.BigEndian.PutUint64(p[1+idBytes+8:], uint64(tok.issued.UnixMilli()))
			want, err := sc.Encode(tokenName, p[:])
			if err != nil {
				t.Fatal(err)
			}
			// securecookie stamps the current second; sign with the same.
			raw, err := base64.URLEncoding.DecodeString(want)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := strconv.ParseInt(strings.SplitN(string(raw), "|", 2)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.signer.sign(p[:], ts)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("key %q, %v: signer wrote\n%s\nsecurecookie wrote\n%s", key, at, got, want)
			}
			mine, err := tc.encode(tok)
			if err != nil {
				t.Fatal(err)
			}
			var back []byte
			if err := sc.Decode(tokenName, mine, &back); err != nil || string(back) != string(p[:]) {
				t.Fatalf("securecookie does not read what encode wrote: %v", err)
			}
			if dec, ok := tc.decode(mine); !ok || dec.id != tok.id || !dec.created.Equal(tok.created) || !dec.issued.Equal(tok.issued) {
				t.Fatalf("decode(encode(%+v)) = %+v, %v", tok, dec, ok)
			}
		}
	}
	withBlock := newTokenCodec([]Key{{Hash: keys[0], Block: []byte("0123456789abcdef")}}, 4096)
	if withBlock.signer != nil {
		t.Fatal("a key with a Block signs without encrypting")
	}
}

func TestSignerRefusesTokensOverMaxLength(t *testing.T) {
	tc := newTokenCodec([]Key{{Hash: []byte("0123456789abcdef0123456789abcdef")}}, 100)
	now := time.Now()
	if _, err := tc.encode(token{id: newID(), created: now, issued: now}); err == nil {
		t.Fatal("a token longer than MaxTokenLength was signed")
	}
}

// TestKeysAreTheirsOnceNewReturns holds the Manager to the keys it was given
// at New: a caller that wipes or reuses its key buffers afterwards (as key
// hygiene advises) must not leave the Manager signing with one key and
// verifying with another, which would refuse every token it issues once
// the token cache forgets it, and every token of the farm's other servers.
func TestKeysAreTheirsOnceNewReturns(t *testing.T) {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	for _, keys := range [][]Key{
		{{Hash: []byte("0123456789abcdef0123456789abcdef")}},
		{{Hash: []byte("0123456789abcdef0123456789abcdef"), Block: []byte("0123456789abcdef")}},
	} {
		m, err := New(Config{Store: st, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		now := time.Now()
		tok := token{id: newID(), created: now, issued: now}
		before, err := m.tokens.encode(tok)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			clear(k.Hash)
			clear(k.Block)
		}
		after, err := m.tokens.encode(tok)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range []string{before, after} {
			if _, ok := m.tokens.decode(raw); !ok {
				t.Errorf("block %v: a token signed by the Manager does not verify once the caller wiped its key slices after New", keys[0].Block != nil)
			}
		}
	}
}

// TestAnEmptyBlockMeansNoEncryption holds New to Key's documentation: a
// Block is used "when set", and Config accepts one of length 0. An empty
// but non-nil Block (a decoded empty setting) must sign and verify like no
// Block, first key or later one, not fail New with a misleading
// MaxTokenLength error nor make a later key verify nothing.
func TestAnEmptyBlockMeansNoEncryption(t *testing.T) {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	hash := []byte("0123456789abcdef0123456789abcdef")
	old := newTokenCodec([]Key{{Hash: hash}}, 1024)
	m, err := New(Config{Store: st, Keys: []Key{{Hash: []byte("fedcba9876543210fedcba9876543210"), Block: []byte{}}, {Hash: hash, Block: []byte{}}}})
	if err != nil {
		t.Fatalf("New refused a Key with an empty Block: %v", err)
	}
	defer m.Close()
	now := time.Now()
	tok := token{id: newID(), created: now, issued: now}
	for _, tc := range []tokenCodec{old, m.tokens} {
		raw, err := tc.encode(tok)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.tokens.decode(raw); !ok {
			t.Errorf("a token signed by the first or the second key, whose Block is empty, does not verify")
		}
	}
}
