// Package fakeclock is a clock for tests that moves only when told to, so
// that no test sleeps through a timeout.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a settable clock. Its Now method fits every Config.Now of this
// module. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex // protects t
	t  time.Time
}

// New returns a Clock that reads a fixed instant until advanced.
func New() *Clock {
	return &Clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
