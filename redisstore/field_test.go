package redisstore

import (
	"strings"
	"testing"
)

func TestField(t *testing.T) {
	tests := []struct{ key, field string }{
		{"user", "user"},
		{"", ""},
		{"@created", "!@created"},
		{"@", "!@"},
		{"!", "!!"},
		{"!x", "!!x"},
		{"a@b", "a@b"},
		{"a!b", "a!b"},
	}
	for _, tt := range tests {
		t.Run("key "+tt.key+" is stored as field "+tt.field+" and read back", func(t *testing.T) {
			if got := encodeField(tt.key); got != tt.field {
				t.Errorf("encodeField(%q): got %q, want %q", tt.key, got, tt.field)
			}
			if got, ok := decodeField(tt.field); !ok || got != tt.key {
				t.Errorf("decodeField(%q): got %q, %v, want %q, true", tt.field, got, ok, tt.key)
			}
		})
	}
	t.Run("metadata fields are not values", func(t *testing.T) {
		if got, ok := decodeField(createdField); ok {
			t.Errorf("decodeField(%q): got %q, true, want false", createdField, got)
		}
	})
}

func FuzzField(f *testing.F) {
	for _, k := range []string{"", "user", "@created", "!", "!!@", "\x00@"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		field := encodeField(key)
		if strings.HasPrefix(field, "@") {
			t.Fatalf("encodeField(%q) = %q: a value field must not start with '@'", key, field)
		}
		if got, ok := decodeField(field); !ok || got != key {
			t.Fatalf("decodeField(encodeField(%q)): got %q, %v, want %q, true", key, got, ok, key)
		}
	})
}
