package memstore_test

import (
	"bytes"
	"fmt"
	"github.com/seed58a3dad2/session/store"
	"maps"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		clock := fakeclock.New()
		s := memstore.New(memstore.Config{Now: clock.Now})
		t.Cleanup(func() { _ = s.Close() })
		return storetest.Harness{Store: s, Advance: clock.Advance, Now: clock.Now, Retention: time.Hour}
	})
}

func TestLen(t *testing.T) {
	t.Run("Len counts live sessions and not expired ones", func(t *testing.T) {
		clock := fakeclock.New()
		s := memstore.New(memstore.Config{Now: clock.Now})
		defer s.Close()
		ctx := t.Context()
		for _, id := range []string{"a", "b", "c"} {
			if err := s.Create(ctx, id, nil, time.Hour, 0); err != nil {
				t.Fatalf("Create: got error %v, want nil", err)
			}
		}
		if err := s.Create(ctx, "short", nil, time.Minute, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if got, want := s.Len(), 4; got != want {
			t.Errorf("Len: got %v, want %v", got, want)
		}
		clock.Advance(2 * time.Minute)
		if got, want := s.Len(), 3; got != want {
			t.Errorf("Len after one expired: got %v, want %v", got, want)
		}
		if _, err := s.Delete(ctx, "a"); err != nil {
			t.Fatalf("Delete: got error %v, want nil", err)
		}
		if got, want := s.Len(), 2; got != want {
			t.Errorf("Len after Delete: got %v, want %v", got, want)
		}
	})
}

func TestNew(t *testing.T) {
	t.Run("a negative SweepInterval panics at construction", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Errorf("New: got no panic, want one")
			}
		}()
		s := memstore.New(memstore.Config{SweepInterval: -time.Second})
		_ = s.Close()
	})
	t.Run("a negative Retention panics at construction", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Errorf("New: got no panic, want one")
			}
		}()
		s := memstore.New(memstore.Config{Retention: -time.Second})
		_ = s.Close()
	})
	t.Run("Close can be called more than once", func(t *testing.T) {
		s := memstore.New(memstore.Config{})
		for range 2 {
			if err := s.Close(); err != nil {
				t.Errorf("Close: got error %v, want nil", err)
			}
		}
	})
	t.Run("the store keeps working after Close", func(t *testing.T) {
		s := memstore.New(memstore.Config{})
		_ = s.Close()
		if err := s.Create(t.Context(), "id", nil, time.Hour, 0); err != nil {
			t.Fatalf("Create: got error %v, want nil", err)
		}
		if _, found, err := s.Load(t.Context(), "id", 0); err != nil || !found {
			t.Errorf("Load: got %v, %v, want true, nil", found, err)
		}
	})
}

func TestValuesAreNeverShared(t *testing.T) {
	// The store keeps its own copies, and hands out copies the caller owns
	// (store.Store's contract): writing into or appending to a slice given
	// to Create or Update, or returned by Load or Take, changes nothing
	// stored, whether the session holds its values in a slice (up to eight)
	// or a map (nine and more), and across the move from one to the other.
	for _, n := range []int{1, 7, 8, 9, 20} {
		t.Run(fmt.Sprint(n, " values"), func(t *testing.T) {
			s := memstore.New(memstore.Config{})
			t.Cleanup(func() { _ = s.Close() })
			ctx := t.Context()
			in, want := map[string][]byte{}, map[string][]byte{}
			for i := range n {
				k := fmt.Sprint("k", i)
				in[k] = []byte(fmt.Sprint("v", i))
				want[k] = []byte(fmt.Sprint("v", i))
			}
			scribble := func(m map[string][]byte) {
				for k, v := range m {
					if len(v) > 0 {
						v[0] = 'X'
					}
					m[k] = append(v, "!!"...)
				}
			}
			check := func(after string) {
				t.Helper()
				got, found, err := s.Load(ctx, "id", 0)
				if err != nil || !found || !maps.EqualFunc(got, want, bytes.Equal) {
					t.Fatalf("after %s: Load got %q, %v, %v, want %q", after, got, found, err, want)
				}
				scribble(got)
			}
			if err := s.Create(ctx, "id", in, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			scribble(in)
			check("Create, and writing into its values")
			check("writing into a Load's values")

			set := map[string][]byte{"k0": []byte("new"), "extra": []byte("e")} // one more key: 8 -> 9 moves to a map
			if _, err := s.Update(ctx, "id", store.Delta{Set: set}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			want["k0"], want["extra"] = []byte("new"), []byte("e")
			scribble(set)
			check("Update, and writing into its Set")

			got, _, err := s.Apply(ctx, "id", store.Delta{Take: []string{"k0"}, Add: map[string]int64{"n": 5}}, time.Hour, 0)
			if err != nil || string(got["k0"]) != "new" || string(got["n"]) != "5" {
				t.Fatalf("Apply: got %q, %v, want k0=new, n=5", got, err)
			}
			delete(want, "k0")
			want["n"] = []byte("5")
			scribble(got)
			check("Take and Add, and writing into what they returned")

			if _, err := s.Update(ctx, "id", store.Delta{Clear: true, Set: map[string][]byte{"c": []byte("c")}}, time.Hour, 0); err != nil {
				t.Fatal(err)
			}
			want = map[string][]byte{"c": []byte("c")}
			check("Clear")
		})
	}
}
