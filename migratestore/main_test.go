package migratestore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the stores' sweepers and subscriptions stop with Close and their contexts.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
