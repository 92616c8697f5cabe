package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Apply applies d to session id, Add and Take included, and sets its time to
// live to ttl, in one round trip: one script, which reads the values it adds
// to and takes in the HMGET that guards against bringing back a session that
// is gone, computes the sums, writes them in the HSET of the change and
// removes what it takes with one HDEL. Inside Redis that is HMGET, HLEN with
// a limit, HSET, HDEL for a Take, PEXPIRE (and the HKEYS and HDELs of a
// Clear or a Del): one command more than Update. A d that neither adds nor
// takes runs Update's script and costs what Update costs. A ttl of zero or
// less ends the session, whatever d. With Config.Index the script also
// moves the session's entry in the expiry index (a ZADD), and the round
// trips are those of Update: one, plus one before when d sets '@user' and
// one after when d takes the session from a user.
//
// The sums are computed by the script in exact int64 arithmetic and
// written as decimal strings, as HINCRBY would write them; nothing is
// written when a value is not an integer as store.ParseInt reads it, or
// when a sum would not fit an int64 (store.ErrNotInteger). The script
// checks this itself, rather than relying on HINCRBY, so that every
// server, miniredis included, answers alike.
func (s *Store) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	return s.write(ctx, "apply", id, d, ttl, maxKeys)
}

// addsOrTakes reports whether d needs the apply script.
func addsOrTakes(d store.Delta) bool {
	return len(d.Add) > 0 || len(d.Take) > 0
}

// addTake runs the apply script: Apply, or Update (op) of a Delta that adds
// or takes, without the index.
func (s *Store) addTake(ctx context.Context, op, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	args, at := addTakeArgs(deltaArgs(d, ttl, maxKeys), d)
	res, err := s.apply.Run(ctx, s.client, []string{s.key(id)}, args...).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return at.result(op, res, 1)
}

// An addTake holds the keys of a Delta's Add and Take in the order the apply
// scripts got them, which is the order of their answers.
type addTake struct {
	adds  []string // the keys of Delta.Add
	takes []string // Delta.Take
}

// addTakeArgs appends to args the arguments of d's Add and Take (see
// luaAddTakeArgs), and returns the keys in their order.
func addTakeArgs(args []any, d store.Delta) ([]any, addTake) {
	at := addTake{adds: make([]string, 0, len(d.Add)), takes: d.Take}
	args = slices.Grow(args, 2*len(d.Add)+len(d.Take)+2)
	for k, n := range d.Add {
		at.adds = append(at.adds, k)
		args = append(args, encodeField(k), strconv.FormatInt(n, 10))
	}
	for _, k := range d.Take {
		args = append(args, encodeField(k))
	}
	return append(args, len(d.Add), len(d.Take)), at
}

// result turns the reply of an apply script into Apply's answers: head
// elements, the first of them a status, then the sums and the values taken
// (see luaAddTake).
func (at addTake) result(op string, reply []any, head int) (map[string][]byte, bool, error) {
	status := integer(reply, 0)
	if status == -2 {
		i := int(integer(reply, 1)) - 1
		if i < 0 || i >= len(at.adds) {
			return nil, false, fmt.Errorf("redisstore: %s: unexpected script reply %v", op, reply)
		}
		return nil, false, fmt.Errorf("redisstore: %s: add to %q: %w", op, at.adds[i], store.ErrNotInteger)
	}
	found, err := deltaResult(op, int(status))
	if !found || err != nil {
		return nil, found, err
	}
	if len(reply) != head+len(at.adds)+len(at.takes) {
		return nil, false, fmt.Errorf("redisstore: %s: unexpected script reply %v", op, reply)
	}
	values := make(map[string][]byte, len(at.adds)+len(at.takes))
	for i, k := range at.adds {
		sum, _ := reply[head+i].(string)
		values[k] = []byte(sum)
	}
	for i, k := range at.takes {
		// nil for a key that was not there; an empty value is "", kept
		// as a non-nil empty slice.
		if v, ok := reply[head+len(at.adds)+i].(string); ok {
			values[k] = []byte(v)
		}
	}
	return values, true, nil
}
