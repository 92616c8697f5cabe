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
// was sent. Add it with client.AddHook(counter).
//
// go-redis sends the handshake of each new connection (HELLO, AUTH, SELECT,
// READONLY, CLIENT SETINFO and the like) through the client's hooks too, at
// whatever moment the pool opens a connection; pipelines even have a pool of
// their own. Counter leaves those commands out, so that counts depend only on
// the code under test. The price: a test cannot count such commands itself.
//
// A Counter is safe for concurrent use. The zero value is ready to use.
type Counter struct {
	mu         sync.Mutex // protects roundTrips and commands
	roundTrips int64
	commands   []string
}

var _ redis.Hook = (*Counter)(nil)

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
		if handshake(cmd) {
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
