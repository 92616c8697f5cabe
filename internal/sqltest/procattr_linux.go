package sqltest

import "syscall"

// procAttr runs a child as cred (when not nil) and has the kernel send it
// SIGQUIT, PostgreSQL's immediate shutdown, if this process dies first: a
// test binary killed by its timeout leaves no server behind.
func procAttr(cred *credentials) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
