package sqltest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/seed58a3dad2/session/internal/testenv"
)

// skipMessage is what tests report when no PostgreSQL is available.
const skipMessage = "no PostgreSQL: set PG_DSN, or install the PostgreSQL server (apt-get install postgresql) " +
	"so that tests start a private one with its initdb"

// mainRunning is set by Main: only then is a private server stopped at the
// end of the test binary, so Postgres refuses to start one without it.
var mainRunning atomic.Bool

// shared is the server every test of the binary uses, set up once.
var shared struct {
	once  sync.Once
	admin *pgx.ConnConfig // connects as a superuser, to the server's default database
	db    *sql.DB         // admin's connection pool, for CREATE SCHEMA
	srv   *server         // the private server; nil with PG_DSN
	skip  string          // why tests skip; "" when a server is there
	err   error           // why setting up failed
}

// Main runs the tests of m, then stops the private PostgreSQL server if one
// was started, and returns the exit code for os.Exit.
func Main(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	if shared.db != nil {
		_ = shared.db.Close()
	}
	if shared.srv != nil {
		if err := shared.srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "sqltest: stop PostgreSQL: %v\n", err)
		}
	}
	return code
}

// Postgres returns a pool of connections (through pgx's database/sql
// adapter) whose search_path is a schema no other test uses, closed in
// t.Cleanup.
//
// With PG_DSN set (a URL or key=value connection string) the schema is made
// on that server and dropped at the end of the test; a server that cannot
// be reached fails the test. Otherwise, when the PostgreSQL server binaries
// are installed (initdb on PATH or under /usr/lib/postgresql/*/bin), a private
// server is started for the whole test binary on a free loopback port and
// stopped by Main. Otherwise the test is skipped.
func Postgres(t testing.TB) *sql.DB {
	t.Helper()
	db := sql.OpenDB(PostgresConnector(t))
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// PostgresConnector is Postgres as a driver.Connector, for a test that wraps
// it (see Counter).
func PostgresConnector(t testing.TB) driver.Connector {
	t.Helper()
	return stdlib.GetConnector(*PostgresConfig(t))
}

// PostgresConfig is Postgres as a pgx configuration, for a test that opens
// connections of its own.
func PostgresConfig(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("sqltest: call sqltest.Main from TestMain in this package: it stops the private PostgreSQL at the end")
	}
	shared.once.Do(setUp)
	switch {
	case shared.skip != "":
		testenv.Missing(t, shared.skip)
	case shared.err != nil:
		t.Fatalf("sqltest: %v", shared.err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails: see crypto/rand.Read
	schema := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := shared.db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("sqltest: create schema %s: %v", schema, err)
	}
	if shared.srv == nil {
		// A server of PG_DSN keeps what tests leave; a private one goes
		// away with the test binary.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := shared.db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				t.Errorf("sqltest: drop schema %s: %v", schema, err)
			}
		})
	}
	cfg := shared.admin.Copy()
	cfg.RuntimeParams["search_path"] = schema
	return cfg
}

// setUp finds or starts the server tests share, filling in shared.
func setUp() {
	if dsn := os.Getenv("PG_DSN"); dsn != "" {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			shared.err = fmt.Errorf("PG_DSN: %w", err)
			return
		}
		shared.admin = cfg
	} else {
		bin, err := findBinaries()
		if err != nil {
			shared.skip = skipMessage
			return
		}
		srv, err := startServer(bin)
		if err != nil {
			shared.err = fmt.Errorf("start a private PostgreSQL: %w", err)
			return
		}
		shared.srv = srv
		shared.admin = srv.config()
	}
	shared.db = stdlib.OpenDB(*shared.admin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shared.db.PingContext(ctx); err != nil {
		shared.err = fmt.Errorf("PostgreSQL at %s:%d does not answer: %w", shared.admin.Host, shared.admin.Port, err)
	}
}

// findBinaries returns the directory that holds initdb and postgres: the
// one on PATH, else the newest under /usr/lib/postgresql (Debian keeps them
// off PATH).
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb not found")
}

// version returns the major version in a path /usr/lib/postgresql/<v>/bin.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// server is a private PostgreSQL that startServer started.
type server struct {
	dir     string // holds the data directory and the log
	port    int
	process *os.Process
	exited  <-chan struct{} // closed once the process has exited
}

// config returns the configuration of a connection as the superuser.
func (s *server) config() *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port))
	if err != nil {
		panic(err) // a constant format: cannot fail
	}
	return cfg
}

// startServer runs initdb on a new temporary directory, then postgres on a
// free loopback port, as the postgres user when this process is root (the
// server refuses to run as root).
func startServer(bin string, options ...string) (_ *server, err error) {
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sqltest-pg-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = procAttr(cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	const attempts = 3 // the free port may be taken before postgres binds it
	for range attempts {
		var port int
		if port, err = freePort(); err != nil {
			return nil, err
		}
		var srv *server
		if srv, err = runServer(bin, dir, port, cred, options...); err == nil {
			return srv, nil
		}
	}
	return nil, err
}

// runServer starts postgres on port and waits until it accepts connections.
// It is the child of this process (not daemonized by pg_ctl), so that it is
// told to quit if the test binary dies without stopping it. options are
// settings (-c name=value) that override those of every private server.
func runServer(bin, dir string, port int, cred *credentials, options ...string) (*server, error) {
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	args := []string{
		"-D", filepath.Join(dir, "data"),
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "max_connections=300",
		// A test server: durability is not what is tested, speed is welcome.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	}
	for _, o := range options {
		args = append(args, "-c", o)
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = procAttr(cred)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	srv := &server{dir: dir, port: port, process: cmd.Process, exited: exited}
	if err := srv.waitReady(); err != nil {
		_ = srv.process.Kill()
		<-exited
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%w\n%s", err, bytes.TrimSpace(log))
	}
	return srv, nil
}

// waitReady connects until the server answers, the process exits, or 30
// seconds pass.
func (s *server) waitReady() error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.ConnectConfig(ctx, s.config())
		if err == nil {
			err = conn.Close(ctx)
			cancel()
			return err
		}
		cancel()
		select {
		case <-s.exited:
			return errors.New("postgres exited before accepting connections")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres on port %d does not accept connections: %w", s.port, err)
		}
	}
}

// stop asks the server for a fast shutdown (SIGINT), kills it if it is still
// running ten seconds later, and removes its directory.
func (s *server) stop() error {
	_ = s.process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.process.Kill()
		<-s.exited
	}
	return os.RemoveAll(s.dir)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
