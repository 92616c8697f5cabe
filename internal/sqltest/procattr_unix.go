//go:build unix

package sqltest

import (
	"errors"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// credentials are the user and group the server runs as.
type credentials = syscall.Credential

// credential returns the postgres user's credentials when this process is
// root, which initdb and postgres refuse to run as, and nil otherwise: they
// then run as this process's user.
func credential() (*credentials, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, and no postgres user to run the server as (the PostgreSQL package creates one): " + err.Error())
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &credentials{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
