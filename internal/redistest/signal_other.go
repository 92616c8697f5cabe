//go:build !unix

package redistest

import "os"

// stopSignal and continueSignal are nil where a process cannot be paused
// with a signal: PausableServer then skips.
var stopSignal, continueSignal os.Signal
