package redistest

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Counter is a redis.Hook that counts round trips to the server: one per
// command sent on its own, one per pipeline however many commands it holds.
// It also records the names of the commands it sees, so tests can check what
// was sent. Add it with client.AddHook(counter).
//
// A new connection runs its handshake (HELLO, CLIENT SETINFO) through the
// client's hooks. go-redis keeps pipelines on connections of their own, so
// the first pipeline opens a second one: send one command and one pipeline
// before Reset to measure the steady state.
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

// record counts one round trip carrying cmds.
func (c *Counter) record(cmds ...redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roundTrips++
	for _, cmd := range cmds {
		c.commands = append(c.commands, cmd.Name())
	}
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
