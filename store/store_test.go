package store_test

import (
	"errors"
	"math/big"
	"strconv"
	"testing"

	"github.com/seed58a3dad2/session/store"
)

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // checked only when ok: a refused value's number is not promised
		ok   bool
	}{
		{"0", 0, true},
		{"-12", -12, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, // one past the largest
		{"", 0, false},
		{"+1", 0, false},
		{"01", 0, false},
		{"-0", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1e3", 0, false},
		{`"1"`, 0, false},
	}
	for _, tt := range tests {
		got, ok := store.ParseInt([]byte(tt.in))
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("ParseInt(%q): got %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParseInt holds ParseInt to the canonical decimal form, the one Redis's
// HINCRBY and strconv.FormatInt agree on: it accepts exactly the strings
// FormatInt writes, and reads them back as the number written.
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-1", "42", "01", "+1", "-0", "", "9223372036854775807", "-9223372036854775809", "1_000", "٣", "12345678901234567890123"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		v, ok := store.ParseInt(value)
		canonical := false
		if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && strconv.FormatInt(n, 10) == string(value) {
			canonical = true
			if !ok || v != n {
				t.Fatalf("ParseInt(%q): got %d, %v, want %d, true", value, v, ok, n)
			}
		}
		if ok && !canonical {
			t.Fatalf("ParseInt(%q): got %d, true, want false: not as strconv.FormatInt writes a number", value, v)
		}
	})
}

// FuzzAddInt checks AddInt's sums against arbitrary precision: a sum that
// fits an int64 is returned, one that does not is ErrNotInteger, as is a
// value that is not an integer; a missing value counts as 0.
func FuzzAddInt(f *testing.F) {
	f.Add([]byte("1"), int64(1), false)
	f.Add([]byte("9223372036854775807"), int64(1), false)
	f.Add([]byte("-9223372036854775808"), int64(-1), false)
	f.Add([]byte("x"), int64(0), false)
	f.Add([]byte(nil), int64(-5), true)
	f.Fuzz(func(t *testing.T, value []byte, n int64, missing bool) {
		if missing {
			value = nil
		}
		sum, err := store.AddInt(value, n)
		v, ok := store.ParseInt(value)
		switch {
		case value == nil:
			v, ok = 0, true
		case !ok:
			if !errors.Is(err, store.ErrNotInteger) {
				t.Fatalf("AddInt(%q, %d): got %d, %v, want ErrNotInteger for a value that is not an integer", value, n, sum, err)
			}
			return
		}
		want := new(big.Int).Add(big.NewInt(v), big.NewInt(n))
		if !want.IsInt64() {
			if !errors.Is(err, store.ErrNotInteger) {
				t.Fatalf("AddInt(%q, %d): got %d, %v, want ErrNotInteger for a sum past int64", value, n, sum, err)
			}
			return
		}
		if err != nil || sum != want.Int64() {
			t.Fatalf("AddInt(%q, %d): got %d, %v, want %d", value, n, sum, err, want)
		}
	})
}
