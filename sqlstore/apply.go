package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Apply applies d to session id, Add and Take included, and sets its
// expiry, atomically, returning the sums and the values taken. A ttl of
// zero or less ends the session.
//
// Without Add or Take it is Update, statement for statement. A Delta that
// only sets and adds (no Clear, Del or Take) is, on PostgreSQL, one
// statement, as an Update that sets keys is: its upserts add to the latest
// stored values under the row locks the database takes for them, so
// concurrent Adds are exact without a lock held across round trips, and it
// checks the stored values as store.ParseInt does, failing (and writing
// nothing) on one that is no such integer or a sum past an int64. Otherwise
// Apply is a transaction whose first statement locks the session's row
// (the guard, as for an Update that deletes keys); then, when an Add starts
// from a stored value, a query reads those values, the sums are worked out
// in Go (store.AddInt), and the change is applied, taking what Take takes
// in the same statement: on PostgreSQL BEGIN, guard, read, apply, COMMIT,
// one round trip fewer when no stored value is needed (a Take alone, or an
// Add to a key the Delta sets or deletes first), as for an Update that
// deletes keys. SQLite, where a write transaction runs in process, always
// takes the transaction.
func (s *Store) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	if len(d.Add) == 0 && len(d.Take) == 0 {
		found, err := s.update(ctx, "apply", id, &d, ttl, maxKeys)
		return nil, found, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlstore: apply: %w", err)
	}
	if ttl <= 0 {
		_, found, err := s.remove(ctx, "apply", id)
		return nil, found, err
	}
	if !validText(id) {
		return nil, false, nil
	}
	for _, k := range slices.Concat(slices.Collect(maps.Keys(d.Add)), d.Take) {
		if strings.HasPrefix(k, "@") {
			// The metadata columns are written before the sums are known.
			return nil, false, fmt.Errorf("sqlstore: apply: Delta.Add and Delta.Take cannot name %q: "+
				"keys starting with '@' are the middleware's metadata", k)
		}
	}
	if err := s.checkKeys("apply", maps.Keys(d.Set)); err != nil {
		return nil, false, err
	}
	if err := s.checkKeys("apply", maps.Keys(d.Add)); err != nil {
		return nil, false, err
	}
	now := millis(s.now())
	values, found, err := s.e.apply(ctx, id, newAddTake(&d), now, expiry(now, ttl), maxKeys)
	if err != nil && !errors.Is(err, store.ErrTooManyKeys) && !errors.Is(err, store.ErrNotInteger) {
		return nil, false, fmt.Errorf("sqlstore: apply: %w", err)
	}
	return values, found, err
}

// An addTake is a Delta with Add or Take, worked out as far as it can be
// before the stored values are read: Clear, Del and Set decide what some of
// the keys that Add and Take name hold when their turn comes; the others
// hold what is stored.
type addTake struct {
	d           *store.Delta
	user, label column   // what d does to the metadata columns, for the guard
	read        []string // keys of d.Add that start from their stored value
	take        []string // keys of d.Take that nothing before them decides: their stored value is taken
	takes       []string // every key of d.Take, once
}

// newAddTake works out d as far as it can before the stored values are
// read.
func newAddTake(d *store.Delta) *addTake {
	a := &addTake{d: d, user: user(metadata(d, store.UserKey)), label: metadata(d, store.LabelKey)}
	for k := range d.Add {
		if _, decided := a.settled(k); !decided {
			a.read = append(a.read, k)
		}
	}
	slices.Sort(a.read)
	a.takes = slices.Compact(slices.Sorted(slices.Values(d.Take)))
	for _, k := range a.takes {
		_, add := d.Add[k]
		if _, decided := a.settled(k); !decided && !add {
			a.take = append(a.take, k)
		}
	}
	return a
}

// settled returns what key holds once Clear, Del and Set are applied (nil
// when it is not there), and whether they decide it: if not, it holds what
// is stored.
func (a *addTake) settled(key string) (value []byte, decided bool) {
	if v, ok := a.d.Set[key]; ok {
		if v == nil {
			v = []byte{} // stored as an empty value, which is no integer
		}
		return v, true
	}
	if (a.d.Clear && !strings.HasPrefix(key, "@")) || slices.Contains(a.d.Del, key) {
		return nil, true
	}
	return nil, false
}

// change works out the sums from stored, the values of the keys of a.read
// that are stored, and returns the change that applies the Delta (the sums
// are set as Set sets, the keys taken are deleted, a.take by the statement
// that returns their values) and what Apply returns but for those values.
// It returns an error wrapping store.ErrNotInteger when a sum cannot be
// made: nothing may be written then.
func (a *addTake) change(stored map[string][]byte) (*change, map[string][]byte, error) {
	set, values, err := a.sums(stored, true)
	if err != nil {
		return nil, nil, err
	}
	// Take comes last: a key it takes is deleted, and what Set and Add
	// left in it is returned; what is stored, the statement returns.
	del := slices.Clone(a.d.Del)
	for _, k := range a.takes {
		if v, ok := set[k]; ok {
			values[k] = clone(v)
			delete(set, k)
			del = append(del, k)
		} else if _, decided := a.settled(k); decided {
			del = append(del, k) // not there: deleting it again is harmless
		}
	}
	c := newChange(&store.Delta{Clear: a.d.Clear, Del: del, Set: set})
	c.take, c.ntake = keyList(a.take)
	return c, values, nil
}

// sums returns what Set sets with the sums set too, and the sums, which
// Apply returns. The sums of the keys of a.read start from stored (nil
// when missing: 0); without read, those keys are left out, for a statement
// that adds to the stored values itself. It returns an error wrapping
// store.ErrNotInteger when a sum cannot be made.
func (a *addTake) sums(stored map[string][]byte, read bool) (set, values map[string][]byte, err error) {
	set = make(map[string][]byte, len(a.d.Set)+len(a.d.Add))
	maps.Copy(set, a.d.Set)
	values = make(map[string][]byte, len(a.d.Add)+len(a.takes))
	for _, k := range slices.Sorted(maps.Keys(a.d.Add)) { // the first bad key, whatever the map's order
		cur, decided := a.settled(k)
		if !decided {
			if !read {
				continue
			}
			cur = stored[k]
		}
		sum, err := store.AddInt(cur, a.d.Add[k])
		if err != nil {
			return nil, nil, fmt.Errorf("sqlstore: apply: key %q: %w", k, err)
		}
		v := strconv.AppendInt(nil, sum, 10)
		set[k] = v
		values[k] = v
	}
	return set, values, nil
}

// addOnly reports whether the Delta only sets and adds: no Clear, Del or
// Take, which must see the values as the last writer left them. Then
// PostgreSQL applies it in one statement whose upserts add to the latest
// stored values (see pgAdd).
func (a *addTake) addOnly() bool {
	return !a.d.Clear && len(a.d.Del) == 0 && len(a.d.Take) == 0
}

// increments returns the keys of a.read with what d.Add adds to each, as a
// JSON array of ["<hex key>","<decimal n>"] pairs, for pgAdd.
func (a *addTake) increments() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, k := range a.read {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`["`)
		b.WriteString(hex.EncodeToString([]byte(k)))
		b.WriteString(`","`)
		b.WriteString(strconv.FormatInt(a.d.Add[k], 10))
		b.WriteString(`"]`)
	}
	b.WriteByte(']')
	return b.String()
}

// held returns how many of the keys Take removes hold a value after the
// Add, by values, what Apply returns: maxKeys counts them, since Take comes
// after the count.
func (a *addTake) held(values map[string][]byte) int {
	n := 0
	for _, k := range a.takes {
		if _, ok := values[k]; ok {
			n++
		}
	}
	return n
}

// applySteps are what an engine runs for Apply inside its write
// transaction.
type applySteps struct {
	app         string
	guard, read string // pgGuard, and the engine's read values
	// change applies a change to the values of a session whose row the
	// transaction has written, and returns the values it took and how many
	// the session then holds.
	change func(ctx context.Context, q querier, id string, c *change) (taken map[string][]byte, n int, err error)
}

// run applies a to session id in the transaction of q: the guard writes
// the session's row first (on PostgreSQL, locks it; on SQLite, takes the
// write lock), so nothing changes the values between the read of those
// the sums start from and the change. On PostgreSQL the read must be a
// statement of its own, after the guard: under READ COMMITTED a statement
// that began before the lock was granted would see the values as they were
// before the last writer.
func (st applySteps) run(ctx context.Context, q querier, id string, a *addTake, now, exp int64, maxKeys int) (map[string][]byte, error) {
	if err := guard(ctx, q, st.guard, st.app, id, a.user, a.label, now, exp); err != nil {
		return nil, err
	}
	var stored map[string][]byte
	if len(a.read) > 0 {
		list, _ := keyList(a.read)
		var err error
		if stored, err = readPairs(q.QueryContext(ctx, st.read, st.app, id, list)); err != nil {
			return nil, err
		}
	}
	c, values, err := a.change(stored)
	if err != nil {
		return nil, err
	}
	taken, n, err := st.change(ctx, q, id, c)
	if err != nil {
		return nil, err
	}
	maps.Copy(values, taken)
	if err := limit(n+a.held(values), maxKeys); err != nil {
		return nil, err
	}
	return values, nil
}

// clone returns a copy of b, never nil: a value Apply returns is the
// caller's, and is there even when empty.
func clone(b []byte) []byte { return append([]byte{}, b...) }

// limit returns store.ErrTooManyKeys when n values pass maxKeys (0: no
// limit).
func limit(n, maxKeys int) error {
	if maxKeys > 0 && n > maxKeys {
		return store.ErrTooManyKeys
	}
	return nil
}

// readPairs reads rows of keys and values.
func readPairs(rows *sql.Rows, err error) (map[string][]byte, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out map[string][]byte
	for rows.Next() {
		var key, value []byte
		if err := rows.Scan(&key, &value); err != nil {
			return nil, err
		}
		if out == nil {
			out = make(map[string][]byte)
		}
		out[string(key)] = nonNil(value)
	}
	return out, rows.Err()
}
