package sqlstore

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/seed58a3dad2/session/store"
)

// A change is a store.Delta, or the values of a new session, in the form the
// statements take: the keys to set and to delete as JSON arrays of hex
// strings, which both dialects decode with built-in functions (decode and
// unhex). One parameter then carries any number of keys, byte for byte, with
// any driver, and each operation is a fixed number of statements.
type change struct {
	clear bool   // remove every value but the metadata ('@' keys) first
	set   string // [["<hex key>","<hex value>"],...]
	nset  int    // how many keys set holds
	del   string // ["<hex key>",...]: keys to delete, none of them in set
	ndel  int
	take  string // ["<hex key>",...]: keys to delete whose values the statement returns (Apply's Take), none in set or del
	ntake int

	// The metadata columns: what the change does to the session's user
	// and label, which the indexes read.
	user, label column
}

// A column is what a change does to a metadata column: nothing unless
// change, else set it to value (NULL for nil).
type column struct {
	change bool
	value  []byte
}

// newChange returns d as a change. Keys that d both deletes and sets are
// only set, since Set comes after Del; a key deleted twice is deleted once.
func newChange(d *store.Delta) *change {
	c := &change{clear: d.Clear}
	c.set, c.nset = pairs(d.Set)
	var del []string
	for _, k := range d.Del {
		if _, ok := d.Set[k]; !ok {
			del = append(del, k)
		}
	}
	slices.Sort(del)
	del = slices.Compact(del)
	c.del, c.ndel = keyList(del)
	c.take = "[]"
	c.user = user(metadata(d, store.UserKey))
	c.label = metadata(d, store.LabelKey)
	return c
}

// newValues returns the values of a new session as a change.
func newValues(values map[string][]byte) *change {
	c := &change{}
	c.set, c.nset = pairs(values)
	c.del = "[]"
	if v, ok := values[store.UserKey]; ok {
		c.user = user(column{change: true, value: nonNil(v)})
	}
	if v, ok := values[store.LabelKey]; ok {
		c.label = column{change: true, value: nonNil(v)}
	}
	return c
}

// metadata returns what d does to the metadata value of key. Clear keeps
// metadata: only Del and Set change it.
func metadata(d *store.Delta, key string) column {
	if v, ok := d.Set[key]; ok {
		return column{change: true, value: nonNil(v)}
	}
	if slices.Contains(d.Del, key) {
		return column{change: true}
	}
	return column{}
}

// user returns c for the user column, where an empty user is no user
// (NULL): such a session is in no user's list.
func user(c column) column {
	if len(c.value) == 0 {
		c.value = nil
	}
	return c
}

// setOnly reports whether c only sets keys (or does nothing), the change a
// PostgreSQL Update applies in one statement.
func (c *change) setOnly() bool { return !c.clear && c.ndel == 0 && c.ntake == 0 }

// empty reports whether c changes no value.
func (c *change) empty() bool { return c.setOnly() && c.nset == 0 }

// pairs returns m as a JSON array of [key, value] pairs in hex, in key
// order, and its length.
func pairs(m map[string][]byte) (string, int) {
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		size += 2*(len(k)+len(v)) + 8
	}
	slices.Sort(keys) // the same text for the same values: easier to read in logs and tests
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('[')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`["`)
		b.WriteString(hex.EncodeToString([]byte(k)))
		b.WriteString(`","`)
		b.WriteString(hex.EncodeToString(m[k]))
		b.WriteString(`"]`)
	}
	b.WriteByte(']')
	return b.String(), len(keys)
}

// keyList returns keys as a JSON array of hex strings, and its length.
func keyList(keys []string) (string, int) {
	var b strings.Builder
	b.WriteByte('[')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(hex.EncodeToString([]byte(k)))
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String(), len(keys)
}

// idList returns IDs as a JSON array of strings.
func idList(ids []string) string {
	if ids == nil {
		return "[]"
	}
	b, _ := json.Marshal(ids) // never fails for strings
	return string(b)
}

// nonNil returns b, or an empty slice for nil: a nil []byte is NULL to a
// driver, and a value or metadata column is never NULL when present.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// base64url is the alphabet of session IDs.
const base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// shards is how many rows of <Table>_counts count an application's
// sessions, so that concurrent creates and deletes rarely update the same
// row.
const shards = 64

// shardOf returns the counter shard of session id: its first character's
// place in the base64url alphabet. A renewed ID keeps the first character
// (see package store), so a Move stays in its shard.
func shardOf(id string) int {
	if id == "" {
		return 0
	}
	if i := strings.IndexByte(base64url, id[0]); i >= 0 {
		return i
	}
	return int(id[0]) % shards
}
