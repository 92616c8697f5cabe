// Package redisstore keeps sessions in Redis, so that every instance of an
// application sees the same sessions and they survive restarts. Each session
// is one hash under the key "<Prefix>:<Application>:{<Application>:<c>}:<id>",
// c being the first character of the ID, one field per value plus an
// "@created" field that keeps an emptied session in existence. The braces
// hold the Cluster hash tag: it names one of the application's 64 shards, so
// the shards spread over the masters while a session and the ID it is renewed
// to, which keeps the first character, share a slot. Every method is one
// round trip: Create, Update, Apply and Move are Lua scripts (EVALSHA), so
// they apply atomically and a write never brings back a session that expired
// or was deleted. Apply's Add and Take run in the same script as the rest of
// the change: the script reads the values it adds to in the HMGET that
// guards the session, checks and sums them itself in exact int64
// arithmetic, and writes nothing when one is not an integer or a sum
// overflows; it writes the sums in the HSET of the change and removes what
// it takes with one HDEL. Times to live are relative (PEXPIRE), so clock
// skew between application servers and Redis does not matter. Redis 4 or
// later is needed.
//
// With Config.Index the store also keeps an index, which the capabilities of
// a farm need (store.Indexer, store.Expirer, store.Limiter; store.Notifier
// works either way). Each session's hash gains "@expires" and "@access"
// (unix milliseconds) beside "@created", and its key lives Config.Retention
// past "@expires" so that ClaimExpired can hand its values to one server.
// The keys, with P for Prefix, A for Application and <h> for 16 hex digits
// of the SHA-256 of <user> (a brace in a user name cannot change the slot):
//
//	P:A:{A:<c>}:<id>         a session (hash): values, @created, @expires, @access
//	P:A:{A:<c>}:@expiries    per shard, sorted set: ID -> @expires
//	P:A:{A:<c>}:@claims      per shard, sorted set: ID -> lease deadline of its claim
//	P:A:{A:<c>}:@ids         per shard, sorted set: IDs in byte order, for List
//	P:A:{A}:@live            sorted set: IDs counted toward a limit -> when to check them
//	P:A:{A:@user:<h>}:<user> per user, sorted set: ID -> when the entry was written
//	P:A:@events              the pub/sub channel of events
//
// A shard's sets share its slot and change in the same scripts as its
// sessions. @live and the users' sets have slots of their own: @live is
// written when a session is created or ends, a user's set at a login and
// when a session of the user ends, neither when a session is read, written
// or touched. Reads and writes of existing sessions stay one round trip;
// each method documents what it costs.
//
// New accepts any redis.UniversalClient whose options set
// ContextTimeoutEnabled: true; without it go-redis ignores context deadlines
// on socket reads, so a stalled Redis would hold each call for the client's
// ReadTimeout instead of the middleware's StoreTimeout, and New panics:
//
//	// A single server.
//	s := redisstore.New(redis.NewClient(&redis.Options{
//		Addr:                  "localhost:6379",
//		ContextTimeoutEnabled: true,
//	}), redisstore.Config{})
//
//	// A primary managed by Sentinel.
//	s = redisstore.New(redis.NewFailoverClient(&redis.FailoverOptions{
//		MasterName:            "mymaster",
//		SentinelAddrs:         []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
//		ContextTimeoutEnabled: true,
//	}), redisstore.Config{Application: "shop"})
//
//	// A Cluster.
//	s = redisstore.New(redis.NewClusterClient(&redis.ClusterOptions{
//		Addrs:                 []string{"node-1:6379", "node-2:6379", "node-3:6379"},
//		ContextTimeoutEnabled: true,
//	}), redisstore.Config{Application: "shop"})
package redisstore
