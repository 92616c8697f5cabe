package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// handles turns session IDs into opaque handles and back, so that listings
// ("your devices", an administrator's list) can name a session without
// showing its ID, which is the secret a token carries. A handle is the ID's
// 16 bytes encrypted with AES under a key derived from the newest signing
// key: it reveals nothing about the ID, cannot be used as a token (it is
// not signed), and only this farm can turn it back. It changes when the
// newest signing key does.
type handles struct {
	block cipher.Block
}

func newHandles(k Key) handles {
	mac := hmac.New(sha256.New, k.Hash)
	mac.Write([]byte("session handle"))
	block, _ := aes.NewCipher(mac.Sum(nil)[:16]) // a 16-byte key never fails
	return handles{block: block}
}

// of returns the handle of id, or "" for a string that is not a session ID.
func (h handles) of(id string) string {
	var b [idBytes]byte
	if n, err := base64.RawURLEncoding.Decode(b[:], []byte(id)); err != nil || n != idBytes || len(id) != 22 {
		return ""
	}
	h.block.Encrypt(b[:], b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// id returns the session ID a handle stands for, or "" for a string that is
// not a handle.
func (h handles) id(handle string) string {
	var b [idBytes]byte
	if len(handle) != 22 {
		return ""
	}
	if n, err := base64.RawURLEncoding.Decode(b[:], []byte(handle)); err != nil || n != idBytes {
		return ""
	}
	h.block.Decrypt(b[:], b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
