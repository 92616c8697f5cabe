package session_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/seed58a3dad2/session"
)

func TestParseKeys(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	keys, err := session.ParseKeys(hexKey + ", " + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=:" + strings.Repeat("cd", 16))
	if err != nil || len(keys) != 2 || len(keys[0].Hash) != 32 || len(keys[1].Hash) != 32 || len(keys[1].Block) != 16 {
		t.Fatalf("got %v, %v", keys, err)
	}
	for _, bad := range []string{"", "abcd", "not-a-key!!", " , "} {
		if _, err := session.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q): got no error", bad)
		}
	}
}

// FuzzParseKeys reads arbitrary text as SESSION_KEYS would hold it: never a
// panic, and never a key shorter than the 32 bytes a signing key needs; a
// key read back from its own hex or base64 is the same key, unless its
// base64 happens to be hex digits only (the seed 081bd26e10b47c84), which
// is read as hex.
func FuzzParseKeys(f *testing.F) {
	f.Add(strings.Repeat("ab", 32), []byte("0123456789abcdef0123456789abcdef"))
	f.Add(strings.Repeat("ab", 32)+":"+strings.Repeat("cd", 16)+", ,", []byte("short"))
	f.Add("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,,,:", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, text string, key []byte) {
		if keys, err := session.ParseKeys(text); err == nil {
			for i, k := range keys {
				if len(k.Hash) < 32 {
					t.Fatalf("ParseKeys(%q): key %d has %d bytes, want an error below 32", text, i, len(k.Hash))
				}
			}
		} else if err.Error() == "" || !strings.HasPrefix(err.Error(), "session: ") {
			t.Fatalf("ParseKeys(%q): got error %q, want one that says what to fix", text, err)
		}
		if len(key) < 32 {
			return
		}
		for _, enc := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
			if _, err := hex.DecodeString(enc); err == nil && enc != hex.EncodeToString(key) {
				// Base64 made of hex digits only is read as hex, as
				// ParseKeys documents its order: with random keys, a
				// chance of (22/64)^43 or less.
				continue
			}
			keys, err := session.ParseKeys(" " + enc + " ")
			if err != nil || len(keys) != 1 || !bytes.Equal(keys[0].Hash, key) {
				t.Fatalf("ParseKeys(%q): got %v, %v, want the key %x", enc, keys, err, key)
			}
		}
	})
}
