package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// A scriptCall is one run of a script among several that evalAll sends
// together.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd // its reply, once evalAll has returned
}

// evalAll runs calls in one pipeline with EVALSHA: one round trip to a
// single server, one to each master concerned on a Cluster, whose client
// splits a pipeline by node and sends the parts at once. The calls that a
// server answered NOSCRIPT, its script cache lacking the script (after a
// restart, a failover or SCRIPT FLUSH), run again with EVAL in a second
// pipeline, as redis.Script.Run does for one call; the others are not sent
// twice, since the scripts that claim and reap are not idempotent. It
// returns the first error of a call.
func (s *Store) evalAll(ctx context.Context, calls []*scriptCall) error {
	if len(calls) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	for _, c := range calls {
		c.cmd = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each command holds its own error
	var missing []*scriptCall
	for _, c := range calls {
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		pipe = s.client.Pipeline()
		for _, c := range missing {
			c.cmd = c.script.Eval(ctx, pipe, c.keys, c.args...)
		}
		_, _ = pipe.Exec(ctx)
	}
	for _, c := range calls {
		if err := c.cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}
