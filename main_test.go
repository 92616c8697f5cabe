package session_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the middleware's reaper and event subscription, started by New, stop with Manager.Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
