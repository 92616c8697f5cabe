package session

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ParseKeys reads signing keys from text such as an environment variable:
// comma-separated, newest first, each hex or base64 (standard or URL
// alphabet, padded or not) of at least 32 bytes. A key may be followed by
// ":" and an encryption key of 16, 24 or 32 bytes in the same notation.
//
//	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for i, field := range strings.Split(s, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		hashText, blockText, _ := strings.Cut(field, ":")
		hash, err := decodeKey(hashText)
		if err != nil {
			return nil, fmt.Errorf("session: key %d: %w", i+1, err)
		}
		if len(hash) < minHashKeyLength {
			return nil, fmt.Errorf("session: key %d has %d bytes: use at least %d random bytes, e.g. `openssl rand -hex 32`", i+1, len(hash), minHashKeyLength)
		}
		k := Key{Hash: hash}
		if blockText != "" {
			if k.Block, err = decodeKey(blockText); err != nil {
				return nil, fmt.Errorf("session: encryption key %d: %w", i+1, err)
			}
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("session: no keys given: set comma-separated keys of at least %d random bytes, e.g. `openssl rand -hex 32`", minHashKeyLength)
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("it is neither hex nor base64")
}
