package memstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the sweeper, started by New, stops with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
