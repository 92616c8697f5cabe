package redistest

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Counter is a redis.Hook that counts round trips to the server: one per
// command sent on its own, one per pipeline however many commands it holds.
// It also records the names of the commands it sees, so tests can check what
// was sent. Add it with Attach, which knows where to hook a Cluster client;
// client.AddHook(counter) does for a client of one server.
//
// go-redis sends the handshake of each new connection (HELLO, AUTH, SELECT,
// READONLY, CLIENT SETINFO and the like) through the client's hooks too, at
// whatever moment the pool opens a connection; pipelines even have a pool of
// their own. A Cluster client also sends commands of its own through the
// hooks of its nodes: CLUSTER SLOTS to learn the topology, when it starts
// and whenever it reloads its view, even in the background, and COMMAND,
// once, to learn the command table. Counter leaves all those commands out
// (and CLUSTER SHARDS and NODES with them), so that counts depend only on
// the code under test. The price: a test cannot count such commands itself.
//
// A Counter is safe for concurrent use. The zero value is ready to use.
type Counter struct {
	mu         sync.Mutex // protects the fields below
	roundTrips int64
	commands   []string
	attached   map[*redis.Client]bool // clients Attach has hooked
}

var _ redis.Hook = (*Counter)(nil)

// Attach hooks c into client where it sees every round trip. It returns an
// error only when it cannot reach a Cluster to list its nodes.
//
// For a single server or a Sentinel-managed primary that is the client
// itself, as with client.AddHook(c). A hook added to a Cluster client,
// though, sees each command once, as the caller issued it, before routing:
// it misses the round trips routing adds, such as a command sent to every
// node (SCRIPT LOAD and SCRIPT EXISTS are), a command sent again after a
// MOVED or ASK redirection, or a pipeline split between nodes. So for a
// Cluster, Attach hooks the client of each node instead: the nodes the
// Cluster client has already opened, and, through OnNewNode, those it opens
// later.
//
// Attach a client before other goroutines use it. Attaching it again does
// nothing.
func (c *Counter) Attach(ctx context.Context, client redis.UniversalClient) error {
	switch client := client.(type) {
	case *redis.ClusterClient:
		client.OnNewNode(c.hook)
		// OnNewNode sees only nodes opened from now on.
		return client.ForEachShard(ctx, func(_ context.Context, node *redis.Client) error {
			c.hook(node)
			return nil
		})
	case *redis.Client:
		c.hook(client)
	default:
		client.AddHook(c)
	}
	return nil
}

// hook adds c to the hooks of client, unless it is there already.
func (c *Counter) hook(client *redis.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.attached[client] {
		return
	}
	if c.attached == nil {
		c.attached = make(map[*redis.Client]bool)
	}
	c.attached[client] = true
	client.AddHook(c)
}

// DialHook returns next unchanged: dialing is not a round trip of a command.
func (c *Counter) DialHook(next redis.DialHook) redis.DialHook {
	return next
}

// ProcessHook counts one round trip for each command sent on its own.
func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.record(cmd)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts one round trip for each pipeline (or MULTI/EXEC
// transaction), and records each of its commands.
func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.record(cmds...)
		return next(ctx, cmds)
	}
}

// record counts one round trip carrying cmds, unless they are all part of a
// connection handshake.
func (c *Counter) record(cmds ...redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counted := false
	for _, cmd := range cmds {
		if handshake(cmd) || clientOwn(cmd) {
			continue
		}
		counted = true
		c.commands = append(c.commands, cmd.Name())
	}
	if counted {
		c.roundTrips++
	}
}

// handshake reports whether cmd is one of the commands go-redis sends to set
// up a new connection.
func handshake(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "auth", "select", "readonly":
		return true
	case "client":
		args := cmd.Args()
		if len(args) < 2 {
			return false
		}
		sub, _ := args[1].(string)
		switch strings.ToLower(sub) {
		case "setinfo", "setname", "tracking", "maint_notifications":
			return true
		}
	}
	return false
}

// clientOwn reports whether cmd is one a Cluster client sends for its own
// use: to learn the topology or the command table.
func clientOwn(cmd redis.Cmder) bool {
	args := cmd.Args()
	switch cmd.Name() {
	case "command":
		return len(args) == 1
	case "cluster":
		if len(args) < 2 {
			return false
		}
		sub, _ := args[1].(string)
		switch strings.ToLower(sub) {
		case "slots", "shards", "nodes":
			return true
		}
	}
	return false
}

// RoundTrips returns the number of round trips since the last Reset.
func (c *Counter) RoundTrips() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roundTrips
}

// Commands returns the lower-case names of the commands sent since the last
// Reset, in the order they were sent; a pipeline contributes each of its
// commands.
func (c *Counter) Commands() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.commands...)
}

// Reset sets the round trip count to zero and forgets the recorded commands.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roundTrips = 0
	c.commands = nil
}
