//go:build unix && !linux

package sqltest

import "syscall"

// procAttr runs a child as cred (when not nil).
func procAttr(cred *credentials) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
