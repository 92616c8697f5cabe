// Package testenv decides what a test does when a server it needs is not
// installed: it skips on a developer's machine, and fails in CI, where
// .ci/run installs every server so that no test is skipped unnoticed.
package testenv

import (
	"os"
	"testing"
)

// Missing skips t with msg, which says what to install, or fails it when
// the environment variable CI is "true".
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI must run this test: .ci/run installs what it needs)", msg)
		return
	}
	t.Skip(msg)
}
