package redisstore

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// checkClient panics unless client honours context deadlines, as far as New
// can tell. go-redis ignores a context's deadline on socket reads and writes
// unless its options set ContextTimeoutEnabled, so a stalled Redis would hold
// each call for the client's ReadTimeout (5 seconds by default) instead of
// the caller's deadline, such as the middleware's StoreTimeout. A ReadTimeout
// or WriteTimeout of -2 makes go-redis set no deadline at all, the context's
// included, so a stalled Redis would hold each call for ever. A client whose
// options New cannot read, such as a wrapper of the caller's, is accepted.
func checkClient(client redis.UniversalClient) {
	var (
		enabled  bool
		noLimits bool   // a read or write timeout of -2
		options  string // where to set the option
	)
	switch c := client.(type) {
	case *redis.Client:
		o := c.Options()
		enabled = o.ContextTimeoutEnabled
		// NewClient turns -2 into -1, its own "no deadline at all" (and -1
		// into 0, "no timeout", which still honours the context).
		noLimits = o.ReadTimeout == -1 || o.WriteTimeout == -1
		options = "redis.Options (redis.NewClient), redis.FailoverOptions (redis.NewFailoverClient) or redis.UniversalOptions (redis.NewUniversalClient)"
	case *redis.ClusterClient:
		o := c.Options()
		enabled = o.ContextTimeoutEnabled
		noLimits = o.ReadTimeout == -2 || o.WriteTimeout == -2
		if o.ReadOnly || o.RouteByLatency || o.RouteRandomly {
			// A replica lags its master: a session just created, renewed or
			// destroyed would read as missing, or as still live.
			panic("redisstore: the Cluster client reads from replicas (ReadOnly, RouteByLatency or RouteRandomly in its options): " +
				"a replica lags its master, so a session just destroyed could read as live; leave them false")
		}
		options = "redis.ClusterOptions (redis.NewClusterClient), redis.FailoverOptions (redis.NewFailoverClusterClient) or redis.UniversalOptions (redis.NewUniversalClient)"
	case *redis.Ring:
		o := c.Options()
		enabled = o.ContextTimeoutEnabled
		noLimits = o.ReadTimeout == -2 || o.WriteTimeout == -2
		options = "redis.RingOptions (redis.NewRing)"
	default:
		return
	}
	if !enabled {
		panic(fmt.Sprintf("redisstore: set ContextTimeoutEnabled: true in the %s the %T is built from: "+
			"without it go-redis ignores context deadlines on reads and writes, and a stalled Redis holds every call "+
			"for the client's ReadTimeout instead of the caller's deadline (the middleware's StoreTimeout)", options, client))
	}
	if noLimits {
		panic(fmt.Sprintf("redisstore: leave ReadTimeout and WriteTimeout at 0 (their defaults), -1 or a positive duration in the %s the %T is built from: "+
			"with -2 go-redis sets no deadline on reads or writes at all, not even the context's, and a stalled Redis holds every call for ever", options, client))
	}
}
