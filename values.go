package session

import (
	"iter"
	"maps"

	"github.com/seed58a3dad2/session/store"
)

// values are a loaded session's values: a map of the request's own (what
// Load returned, or what the request set in a new session), or the View a
// store.Lender lent, which the request must never change. The first change
// to lent values copies them into a map of its own; a request that only
// reads copies nothing. The values' bytes are never changed, only replaced,
// so the copy shares them.
type values struct {
	m    map[string][]byte // the request's own; nil while lent, or while there are none
	lent store.View        // read-only; nil unless lent and unchanged
}

// get returns the value of key, and whether there is one.
func (v *values) get(key string) ([]byte, bool) {
	if v.lent != nil {
		return v.lent.Get(key)
	}
	b, ok := v.m[key]
	return b, ok
}

// len returns how many values there are, metadata included.
func (v *values) len() int {
	if v.lent != nil {
		return v.lent.Len()
	}
	return len(v.m)
}

// all yields every key and value, in no particular order.
func (v *values) all() iter.Seq2[string, []byte] {
	if v.lent != nil {
		return v.lent.All()
	}
	return maps.All(v.m)
}

// own returns the values as a map the request may change, copying lent
// values into it first.
func (v *values) own() map[string][]byte {
	if v.lent != nil {
		v.m, v.lent = v.lent.Map(), nil
	}
	if v.m == nil { // none yet, or a View that answered an empty map so
		v.m = make(map[string][]byte)
	}
	return v.m
}

// set makes b the value of key.
func (v *values) set(key string, b []byte) { v.own()[key] = b }

// del removes key; lent values without it stay lent.
func (v *values) del(key string) {
	if _, ok := v.get(key); ok {
		delete(v.own(), key)
	}
}

// clear removes every value but the metadata, which a Clear keeps.
func (v *values) clear() {
	var meta map[string][]byte
	for k, b := range v.all() {
		if isMeta(k) {
			if meta == nil {
				meta = make(map[string][]byte)
			}
			meta[k] = b
		}
	}
	*v = values{m: meta}
}
