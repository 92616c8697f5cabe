package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
)

// ttl is the sliding expiry of every case, the benchmark server's.
const ttl = 20 * time.Minute

// maxKeys is the middleware's default Config.MaxKeys, which it passes to
// every Create and write.
const maxKeys = 256

// The values a session holds, as bench/server's /login stores them (JSON).
var (
	loginValues = map[string][]byte{"user": []byte(`"ann"`), "n": []byte("0")}
	setN        = store.Delta{Set: map[string][]byte{"n": []byte("7")}}
	addN        = store.Delta{Add: map[string]int64{"n": 1}}
	takeFlash   = store.Delta{Take: []string{"flash"}}
	// blob stands for a peer's whole session, encoded (scs: gob of a map
	// with "user" and "n" and the deadline, about 90 bytes).
	blob = strings.Repeat("x", 90)
)

// cases returns every case: the floors and the peers' commands, the store
// as it is, and the candidate write paths (candidates.go), each named for
// the operation it stands for.
func cases(client *redis.Client, sessions int) []benchCase {
	plain := redisstore.New(client, redisstore.Config{Application: "bench"})
	indexed := redisstore.New(client, redisstore.Config{Application: "bench", Index: true})
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = newID()
	}
	id := func(i int) string { return ids[i%len(ids)] }
	// populate creates the sessions that reads and writes cycle over.
	populate := func(st *redisstore.Store) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			for _, id := range ids {
				if err := st.Create(ctx, id, loginValues, ttl, maxKeys); err != nil {
					return err
				}
			}
			return nil
		}
	}
	populateFloor := func(ctx context.Context) error {
		for _, id := range ids {
			if err := client.Set(ctx, "floor:"+id, blob, ttl).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	update := func(st *redisstore.Store) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			found, err := st.Update(ctx, id(i), setN, ttl, maxKeys)
			if err == nil && !found {
				err = fmt.Errorf("update: session %s not found", id(i))
			}
			return err
		}
	}
	apply := func(st *redisstore.Store, d store.Delta) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			_, found, err := st.Apply(ctx, id(i), d, ttl, maxKeys)
			if err == nil && !found {
				err = fmt.Errorf("apply: session %s not found", id(i))
			}
			return err
		}
	}
	load := func(st *redisstore.Store) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			_, found, err := st.Load(ctx, id(i), 0)
			if err == nil && !found {
				err = fmt.Errorf("load: session %s not found", id(i))
			}
			return err
		}
	}

	all := []benchCase{
		// The fixed cost of a round trip: reading a request, writing a
		// reply, a wake-up of the event loop.
		{name: "baseline: PING", top: []string{"ping"},
			op: func(ctx context.Context, i int) error { return client.Ping(ctx).Err() }},
		// Floors: bench/server's floor contender, one command per request.
		{name: "floor: SET (/login, /writeonly)", top: []string{"set"},
			op: func(ctx context.Context, i int) error {
				return client.Set(ctx, "floor:"+newID(), "ann", ttl).Err()
			}},
		{name: "floor: GET (/read)", top: []string{"get"}, setup: populateFloor,
			op: func(ctx context.Context, i int) error { return client.Get(ctx, "floor:"+id(i)).Err() }},
		{name: "floor: INCR (/write)", top: []string{"incr"},
			op: func(ctx context.Context, i int) error { return client.Incr(ctx, "floor:n:"+id(i)).Err() }},
		// The peers: scs and gorilla store a session as one string; a
		// request that reads and writes runs GET, then SET.
		{name: "peers: SET PX of 90 bytes (/login)", top: []string{"set"},
			op: func(ctx context.Context, i int) error {
				return client.Set(ctx, "floor:"+newID(), blob, ttl+time.Millisecond).Err()
			}},
		{name: "peers: GET then SET PX (/read, /write, /writeonly)", top: []string{"get", "set"}, setup: populateFloor,
			op: func(ctx context.Context, i int) error {
				if err := client.Get(ctx, "floor:"+id(i)).Err(); err != nil {
					return err
				}
				return client.Set(ctx, "floor:"+id(i), blob, ttl+time.Millisecond).Err()
			}},

		// The store as it is.
		{name: "store: Create", top: []string{"restore", "evalsha", "eval"},
			op: func(ctx context.Context, i int) error {
				return plain.Create(ctx, newID(), loginValues, ttl, maxKeys)
			}},
		{name: "store: Update of one value", top: []string{"evalsha", "eval"}, setup: populate(plain), op: update(plain)},
		{name: "store: Load", top: []string{"hgetall"}, setup: populate(plain), op: load(plain)},
		{name: "store: Apply of one Add (/add)", top: []string{"evalsha", "eval"}, setup: populate(plain), op: apply(plain, addN)},
		{name: "store: Apply of one Take (/take)", top: []string{"evalsha", "eval"}, setup: populate(plain), op: apply(plain, takeFlash)},
		{name: "store: Load then Update (/write)", top: []string{"hgetall", "evalsha", "eval"}, setup: populate(plain),
			op: func(ctx context.Context, i int) error {
				if err := load(plain)(ctx, i); err != nil {
					return err
				}
				return update(plain)(ctx, i)
			}},
		{name: "store, Index: Create", top: []string{"evalsha", "eval"},
			op: func(ctx context.Context, i int) error {
				return indexed.Create(ctx, newID(), loginValues, ttl, maxKeys)
			}},
		{name: "store, Index: Update of one value", top: []string{"evalsha", "eval"}, setup: populate(indexed), op: update(indexed)},
		{name: "store, Index: Load", top: []string{"hgetall"}, setup: populate(indexed), op: load(indexed)},
	}
	return append(all, candidates(client, plain, ids)...)
}
