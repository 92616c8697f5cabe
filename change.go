package session

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/seed58a3dad2/session/store"
)

// change is what a request did to its session's values, recorded to be
// saved at the commit as one store.Delta. It keeps the Delta and the index of
// its deletions in step, so that nothing else has to.
type change struct {
	d       store.Delta
	deleted map[string]struct{} // the keys in d.Del
}

// empty reports whether saving the change would write nothing.
func (c *change) empty() bool { return c.d.Empty() }

// set records key = b.
func (c *change) set(key string, b []byte) {
	if c.d.Set == nil {
		c.d.Set = make(map[string][]byte)
	}
	c.d.Set[key] = b
	if _, ok := c.deleted[key]; ok {
		delete(c.deleted, key)
		c.d.Del = slices.DeleteFunc(c.d.Del, func(k string) bool { return k == key })
	}
}

// sets returns how many keys the change sets, and whether it sets key.
func (c *change) sets(key string) (n int, ok bool) {
	_, ok = c.d.Set[key]
	return len(c.d.Set), ok
}

// del records the removal of key. Only a stored session has keys to remove
// in the store; a new one just forgets what was set.
func (c *change) del(key string, stored bool) {
	delete(c.d.Set, key)
	if !stored || c.d.Clear && !isMeta(key) {
		return
	}
	if _, ok := c.deleted[key]; ok {
		return
	}
	if c.deleted == nil {
		c.deleted = make(map[string]struct{})
	}
	c.deleted[key] = struct{}{}
	c.d.Del = append(c.d.Del, key)
}

// clearAll records the removal of every value, stored ones too when the
// session is stored. The metadata stays, as store.Delta.Clear keeps it: so
// do the changes to it recorded so far (a Login earlier in the request).
func (c *change) clearAll(stored bool) {
	_, meta := c.split()
	meta.d.Clear = stored
	*c = meta
}

// reset forgets the change: it was saved, or the session it was for is gone.
func (c *change) reset() { *c = change{} }

// lookup answers a read of key from the change alone, when it can: decided
// is false when the answer is in the stored values.
func (c *change) lookup(key string) (b []byte, ok, decided bool) {
	if b, ok := c.d.Set[key]; ok {
		return b, true, true
	}
	if _, ok := c.deleted[key]; ok || c.d.Clear && !isMeta(key) {
		return nil, false, true
	}
	return nil, false, false
}

// applyTo changes values as the store will: clear (the metadata stays),
// then delete, then set.
func (c *change) applyTo(values map[string][]byte) {
	if c.d.Clear {
		maps.DeleteFunc(values, func(k string, _ []byte) bool { return !isMeta(k) })
	}
	for _, k := range c.d.Del {
		delete(values, k)
	}
	maps.Copy(values, c.d.Set)
}

// split separates the change to the application's values, returned as a
// Delta that shares the change's slices and values, from the change to the
// metadata ('@' keys), returned as a change of its own. Session.Add and Take
// save the first at once; the metadata of a Login waits for the commit,
// where it goes with the renewal and the limits on logins.
func (c *change) split() (data store.Delta, meta change) {
	data.Clear = c.d.Clear
	for k, b := range c.d.Set {
		if isMeta(k) {
			meta.set(k, b)
			continue
		}
		if data.Set == nil {
			data.Set = make(map[string][]byte, len(c.d.Set))
		}
		data.Set[k] = b
	}
	for _, k := range c.d.Del {
		if isMeta(k) {
			meta.del(k, true)
		} else {
			data.Del = append(data.Del, k)
		}
	}
	return data, meta
}

// isMeta reports whether key names the middleware's metadata, which the
// application cannot read or write with Get and Set.
func isMeta(key string) bool { return strings.HasPrefix(key, "@") }

// errReserved is the error of a Get, Set, Add or Take that names a metadata
// key.
func errReserved(key string) error {
	return fmt.Errorf("%w: %q: keys starting with '@' are reserved for the store", ErrInvalidKey, key)
}

// setValues returns the values the change sets: all a session that turned
// out to be gone keeps.
func (c *change) setValues() map[string][]byte { return c.d.Set }
