// Package redisstore keeps sessions in Redis, so that every instance of an
// application sees the same sessions and they survive restarts. Each session
// is one hash under the key "<Prefix>:<Application>:{<Application>:<c>}:<id>",
// c being the first character of the ID, one field per value plus an
// "@created" field that keeps an emptied session in existence. The braces
// hold the Cluster hash tag: it names one of the application's 64 shards, so
// the shards spread over the masters while a session and the ID it is renewed
// to, which keeps the first character, share a slot. Every method is one
// round trip: Create, Update and Move are Lua scripts (EVALSHA), so they
// apply atomically and an Update never brings back a session that expired or
// was deleted. Times to live are relative (PEXPIRE), so clock skew between
// application servers and Redis does not matter. Redis 4 or later is needed.
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
