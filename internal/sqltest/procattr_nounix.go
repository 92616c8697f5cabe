//go:build !unix

package sqltest

import "syscall"

// credentials are the user and group the server runs as: unused here.
type credentials struct{ Uid, Gid uint32 }

// credential returns nil: the server runs as this process's user.
func credential() (*credentials, error) { return nil, nil }

// procAttr returns nil: no special attributes.
func procAttr(*credentials) *syscall.SysProcAttr { return nil }
