package session

import "testing"

func TestHandles(t *testing.T) {
	h := newHandles(Key{Hash: []byte("0123456789abcdef0123456789abcdef")})
	other := newHandles(Key{Hash: []byte("another key, another 32 bytes...")})
	for range 50 {
		id := newID()
		handle := h.of(id)
		if handle == "" || handle == id || len(handle) != len(id) {
			t.Fatalf("of(%q) = %q, want an opaque 22-character handle", id, handle)
		}
		if got := h.id(handle); got != id {
			t.Fatalf("id(of(%q)) = %q, want the ID back", id, got)
		}
		if other.of(id) == handle {
			t.Fatal("two keys gave the same handle")
		}
		if got := other.id(handle); got == id {
			t.Fatal("another key turned the handle back into the ID")
		}
	}
	for _, bad := range []string{"", "short", "not a session id, much too long", "!!!!!!!!!!!!!!!!!!!!!!"} {
		if got := h.of(bad); got != "" {
			t.Errorf("of(%q) = %q, want \"\"", bad, got)
		}
		if got := h.id(bad); got != "" {
			t.Errorf("id(%q) = %q, want \"\"", bad, got)
		}
	}
}
