package redisstore

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// checkClient panics unless client honours context deadlines, as far as New
// can tell. go-redis ignores a context's deadline on socket reads and writes
// unless its options set ContextTimeoutEnabled, so a stalled Redis would hold
// each call for the client's ReadTimeout (5 seconds by default) instead of
// the caller's deadline, such as the middleware's StoreTimeout. A client whose
// options New cannot read, such as a wrapper of the caller's, is accepted.
func checkClient(client redis.UniversalClient) {
	var enabled bool
	var options string // where to set the option
	switch c := client.(type) {
	case *redis.Client:
		enabled = c.Options().ContextTimeoutEnabled
		options = "redis.Options (redis.NewClient), redis.FailoverOptions (redis.NewFailoverClient) or redis.UniversalOptions (redis.NewUniversalClient)"
	case *redis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
		options = "redis.ClusterOptions (redis.NewClusterClient), redis.FailoverOptions (redis.NewFailoverClusterClient) or redis.UniversalOptions (redis.NewUniversalClient)"
	case *redis.Ring:
		enabled = c.Options().ContextTimeoutEnabled
		options = "redis.RingOptions (redis.NewRing)"
	default:
		return
	}
	if !enabled {
		panic(fmt.Sprintf("redisstore: set ContextTimeoutEnabled: true in the %s the %T is built from: "+
			"without it go-redis ignores context deadlines on reads and writes, and a stalled Redis holds every call "+
			"for the client's ReadTimeout instead of the caller's deadline (the middleware's StoreTimeout)", options, client))
	}
}
