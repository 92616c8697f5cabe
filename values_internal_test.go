package session

import (
	"iter"
	"maps"
	"testing"
)

// nilMapView is a View of no values whose Map answers nil, as a Lender may
// for an empty session.
type nilMapView struct{}

func (nilMapView) Len() int                       { return 0 }
func (nilMapView) Get(string) ([]byte, bool)      { return nil, false }
func (nilMapView) All() iter.Seq2[string, []byte] { return maps.All(map[string][]byte(nil)) }
func (nilMapView) Map() map[string][]byte         { return nil }

// TestValuesOfAnEmptyView: an empty View, and none at all (a Lender that
// found a session of no values may answer either), read as no values, and
// a change to them makes a map of the request's own instead of writing
// into a nil one.
func TestValuesOfAnEmptyView(t *testing.T) {
	for name, v := range map[string]values{"nil View": {}, "View whose Map is nil": {lent: nilMapView{}}} {
		if n := v.len(); n != 0 {
			t.Errorf("%s: len = %d, want 0", name, n)
		}
		if _, ok := v.get("a"); ok {
			t.Errorf("%s: get found a value", name)
		}
		v.del("a") // nothing there: nothing to copy, no panic
		v.set("a", []byte("1"))
		if b, ok := v.get("a"); !ok || string(b) != "1" || v.lent != nil {
			t.Errorf("%s: after set: got %q, %v, lent %v, want 1 in a map of its own", name, b, ok, v.lent)
		}
	}
}
