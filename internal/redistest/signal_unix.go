//go:build unix

package redistest

import (
	"os"
	"syscall"
)

// stopSignal and continueSignal pause and resume a process (see
// PausableServer).
var stopSignal, continueSignal os.Signal = syscall.SIGSTOP, syscall.SIGCONT
