package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/store"
)

func Example() {
	m, err := miniredis.Run() // stands in for a real Redis
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	// ContextTimeoutEnabled makes go-redis end each call at its context's
	// deadline; New panics without it.
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	defer client.Close()

	s := redisstore.New(client, redisstore.Config{Application: "shop"})
	ctx := context.Background()
	id := "Zm9yIGV4YW1wbGUgb25seQ" // real IDs are 16 random bytes, base64url
	if err := s.Create(ctx, id, map[string][]byte{"user": []byte("42")}, 24*time.Hour, 0); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := s.Update(ctx, id, store.Delta{Set: map[string][]byte{"cart": []byte("3 items")}}, 24*time.Hour, 0); err != nil {
		fmt.Println(err)
		return
	}
	values, found, err := s.Load(ctx, id, 0)
	fmt.Println(found, err, string(values["user"]), string(values["cart"]))

	// The key's hash tag is the shard: the Application and the ID's first
	// character.
	raw, _ := client.HGet(ctx, "session:shop:{shop:Z}:"+id, "cart").Result()
	fmt.Println(raw)
	// Output:
	// true <nil> 42 3 items
	// 3 items
}

// A Sentinel-managed primary: the Store follows failovers.
func ExampleNew_sentinel() {
	client := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            "mymaster",
		SentinelAddrs:         []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
		ContextTimeoutEnabled: true, // required: calls end at their context's deadline
	})
	defer client.Close()
	s := redisstore.New(client, redisstore.Config{Application: "shop"})
	_ = s
}

// A Cluster: a session's key has its shard as hash tag (the Application and
// the ID's first character), so each script touches one slot, and the 64
// shards of an application spread over the masters.
func ExampleNew_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"node-1:6379", "node-2:6379", "node-3:6379"},
		ContextTimeoutEnabled: true, // required: calls end at their context's deadline
	})
	defer client.Close()
	s := redisstore.New(client, redisstore.Config{Application: "shop"})
	_ = s
}
