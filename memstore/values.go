package memstore

import (
	"iter"
	"maps"
	"slices"

	"github.com/seed58a3dad2/session/store"
)

// fewValues is how many values a session keeps in a slice before they move
// to a map. Most sessions hold a few values: a map, which starts at a group
// of eight slots and a header, costs them five times the memory of a slice
// of just as many, and finding one of eight keys by comparing them is as
// quick as hashing.
const fewValues = 8

// values are a session's values as the store keeps them, owned by the store:
// in a slice while there are at most fewValues, in a map once there were,
// or were about to be, more. The zero value holds none.
//
// Values an entry holds are never changed, so that Lend can hand them out
// as they are (they are the store.View it lends): a write changes a copy
// (thaw) and puts that in the entry. Their value slices are never changed
// either, only replaced: the copy shares them.
type values struct {
	few  []field           // in no order; nil once many is in use
	many map[string][]byte // nil until the values outgrow few
}

// field is one value held in values.few.
type field struct {
	key   string
	value []byte
}

// newValues returns new values holding copies of m, and whether they name a
// user (store.UserKey with a value that is not empty): comparing keys while
// copying costs less than a lookup. The copies share one allocation, each
// capped at its own length so that appending to one moves it instead of
// overwriting the next.
func newValues(m map[string][]byte) (v *values, user bool) {
	if len(m) > fewValues {
		v = &values{many: make(map[string][]byte, len(m))}
	} else {
		v = withRoom(len(m))
	}
	size := 0
	for _, b := range m {
		size += len(b)
	}
	buf := make([]byte, 0, size) // never nil, so neither is an empty value
	for k, b := range m {
		start := len(buf)
		buf = append(buf, b...)
		v.set(k, buf[start:len(buf):len(buf)])
		user = user || (k == store.UserKey && len(b) > 0)
	}
	return v, user
}

// Len returns how many values there are.
func (v *values) Len() int {
	if v.many != nil {
		return len(v.many)
	}
	return len(v.few)
}

// Get returns the value of key, and whether there is one.
func (v *values) Get(key string) ([]byte, bool) {
	if v.many != nil {
		b, ok := v.many[key]
		return b, ok
	}
	if i := v.index(key); i >= 0 {
		return v.few[i].value, true
	}
	return nil, false
}

// index returns where key is in v.few, or -1.
func (v *values) index(key string) int {
	for i := range v.few {
		if v.few[i].key == key {
			return i
		}
	}
	return -1
}

// thaw returns a copy of v to change, with room for grow more values:
// in a slice that needs no move to take them, or in a map when they would
// be more than fewValues. The copy shares v's value slices, which are
// replaced, never changed.
func (v *values) thaw(grow int) *values {
	if v.many == nil && len(v.few)+grow <= fewValues {
		c := withRoom(len(v.few) + grow)
		c.few = append(c.few, v.few...)
		return c
	}
	c := &values{many: make(map[string][]byte, v.Len()+grow)}
	for k, b := range v.All() {
		c.many[k] = b
	}
	return c
}

// withRoom returns empty values with room for n fields in their slice, the
// slice's array allocated in one block with them: one allocation instead
// of two, and one object fewer per session for the collector to mark, in
// the same size class or a smaller one.
func withRoom(n int) *values {
	if n <= 0 || n > len(roomFor) {
		return &values{few: make([]field, 0, n)}
	}
	return roomFor[n-1]()
}

// roomFor[n-1] returns empty values with room for n fields, for withRoom.
var roomFor = [fewValues]func() *values{
	func() *values {
		b := new(struct {
			v values
			a [1]field
		})
		b.v.few = b.a[:0]
		return &b.v
	},
	func() *values {
		b := new(struct {
			v values
			a [2]field
		})
		b.v.few = b.a[:0]
		return &b.v
	},
	func() *values {
		b := new(struct {
			v values
			a [3]field
		})
		b.v.few = b.a[:0]
		return &b.v
	},
	func() *values {
		b := new(struct {
			v values
			a [4]field
		})
		b.v.few = b.a[:0]
		return &b.v
	},
	func() *values {
		b := new(struct {
			v values
			a [5]field
		})
		b.v.few = b.a[:0]
		return &b.v
	},
	func() *values {
		b := new(struct {
			v values
			a [6]field
		})
		b.v.few = b.a[:0]
		return &b.v
	},
	func() *values {
		b := new(struct {
			v values
			a [7]field
		})
		b.v.few = b.a[:0]
		return &b.v
	},
	func() *values {
		b := new(struct {
			v values
			a [8]field
		})
		b.v.few = b.a[:0]
		return &b.v
	},
}

// set makes b the value of key; v keeps b itself. Only values that no
// entry holds yet may be changed (thaw).
func (v *values) set(key string, b []byte) {
	if v.many != nil {
		v.many[key] = b
		return
	}
	if i := v.index(key); i >= 0 {
		v.few[i].value = b
		return
	}
	if len(v.few) < fewValues {
		v.few = append(v.few, field{key, b})
		return
	}
	v.many = make(map[string][]byte, 2*fewValues)
	for _, f := range v.few {
		v.many[f.key] = f.value
	}
	v.few = nil
	v.many[key] = b
}

// del removes key, if it is there. Like set, only on values of one's own.
func (v *values) del(key string) {
	v.deleteFunc(func(k string) bool { return k == key })
}

// deleteFunc removes every value whose key del reports true for.
func (v *values) deleteFunc(del func(key string) bool) {
	if v.many != nil {
		maps.DeleteFunc(v.many, func(k string, _ []byte) bool { return del(k) })
		return
	}
	v.few = slices.DeleteFunc(v.few, func(f field) bool { return del(f.key) })
}

// All yields every key and value, in no particular order. The values are
// v's own: the caller copies what it passes on.
func (v *values) All() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		if v.many != nil {
			for k, b := range v.many {
				if !yield(k, b) {
					return
				}
			}
			return
		}
		for _, f := range v.few {
			if !yield(f.key, f.value) {
				return
			}
		}
	}
}

// Map returns the values in a new map, sharing their slices: see
// store.View.
func (v *values) Map() map[string][]byte {
	if v.many != nil {
		return maps.Clone(v.many)
	}
	m := make(map[string][]byte, len(v.few))
	for _, f := range v.few {
		m[f.key] = f.value
	}
	return m
}

// clone returns a copy of the values in a map of their own, never nil, as
// Load and the other calls return them. The copied values share one
// allocation, as in newValues: a Load costs the map and one buffer, however
// many values the session holds.
func (v *values) clone() map[string][]byte {
	size := 0
	for _, b := range v.All() {
		size += len(b)
	}
	buf := make([]byte, 0, size)
	c := make(map[string][]byte, v.Len())
	for k, b := range v.All() {
		start := len(buf)
		buf = append(buf, b...)
		c[k] = buf[start:len(buf):len(buf)]
	}
	return c
}
