package redisstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the subscription of Subscribe stops with its context.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
