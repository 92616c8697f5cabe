package memstore

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// checkValues fails the test unless v holds exactly want, by every way of
// reading it.
func checkValues(t *testing.T, v *values, want map[string][]byte, after string) {
	t.Helper()
	if v.Len() != len(want) {
		t.Fatalf("after %s: got len %d, want %d", after, v.Len(), len(want))
	}
	got := map[string][]byte{}
	for k, b := range v.All() {
		if _, dup := got[k]; dup {
			t.Fatalf("after %s: all yielded %q twice", after, k)
		}
		got[k] = b
	}
	if !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("after %s: all yielded %q, want %q", after, got, want)
	}
	for k, w := range want {
		if b, ok := v.Get(k); !ok || string(b) != string(w) {
			t.Fatalf("after %s: get(%q) got %q, %v, want %q, true", after, k, b, ok, w)
		}
	}
	if b, ok := v.Get("absent"); ok || b != nil {
		t.Fatalf("after %s: get of a missing key got %q, %v, want nil, false", after, b, ok)
	}
	if c := v.clone(); !maps.EqualFunc(c, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("after %s: clone got %q, want %q", after, c, want)
	}
}

func TestValues(t *testing.T) {
	t.Run("values read back as a map would, in the slice, across the move to a map and in it; a change to a thawed copy leaves the original as it was", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for run := range 50 {
			v := new(values)
			want := map[string][]byte{}
			for step := range 200 {
				lent, lentWant := v, maps.Clone(want)
				v = v.thaw(rng.IntN(3))
				// Up to three times fewValues keys, so that runs grow
				// past the slice and shrink again.
				k := fmt.Sprint("k", rng.IntN(3*fewValues))
				var did string
				switch op := rng.IntN(10); {
				case op < 6:
					b := []byte(fmt.Sprint(run, "-", step))
					v.set(k, b)
					want[k] = b
					did = "set " + k
				case op < 9:
					v.del(k)
					delete(want, k)
					did = "del " + k
				default:
					odd := func(k string) bool { return len(k)%2 == 1 }
					v.deleteFunc(odd)
					maps.DeleteFunc(want, func(k string, _ []byte) bool { return odd(k) })
					did = "deleteFunc"
				}
				checkValues(t, v, want, fmt.Sprintf("run %d step %d (%s)", run, step, did))
				checkValues(t, lent, lentWant, fmt.Sprintf("run %d step %d (%s), the values thawed from", run, step, did))
			}
		}
	})
	t.Run("newValues copies its map, into a slice up to fewValues and a map beyond", func(t *testing.T) {
		for _, n := range []int{0, 1, fewValues, fewValues + 1, 100} {
			in, want := map[string][]byte{}, map[string][]byte{}
			for i := range n {
				in[fmt.Sprint("k", i)] = []byte(fmt.Sprint(i))
				want[fmt.Sprint("k", i)] = []byte(fmt.Sprint(i))
			}
			v, user := newValues(in)
			for k := range in {
				in[k][0] = 'X'
			}
			checkValues(t, v, want, fmt.Sprintf("newValues of %d values", n))
			if user {
				t.Errorf("newValues of %d values without a user: got user true, want false", n)
			}
			if inSlice := v.many == nil; inSlice != (n <= fewValues) {
				t.Errorf("newValues of %d values: got them in a slice %v, want %v", n, inSlice, n <= fewValues)
			}
		}
	})
}
