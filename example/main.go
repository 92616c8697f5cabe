// Command example is a small JSON API on the session middleware: log in,
// count, keep values, list your devices, log out (here or everywhere else).
// It is the demo and the smoke-test target. Its page at / uses the
// JavaScript client (two panels, two sessions); /form is the same counter
// for a browser without scripts, on the cookie alone.
//
//	go run ./example                         # in-memory sessions
//	go run ./example -store miniredis        # an embedded Redis, in process
//	go run ./example -store redis -redis 127.0.0.1:6379 -app shop
//	go run ./example -store sqlite           # sessions in a file: they survive a restart
//	go run ./example -store postgres -dsn postgres://user:password@127.0.0.1:5432/db
//
// Signing keys come from SESSION_KEYS (comma-separated, newest first, each at
// least 32 random bytes in hex or base64: `openssl rand -hex 32`). With
// ADMIN_TOKEN set, /admin/... answers requests that send
// "Authorization: Bearer <ADMIN_TOKEN>". Every expiry and destroy is logged:
//
//	session expired app=<app> user=<user> keys=<n>
//	session destroyed app=<app> user=<user> reason=<reason>
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for -store postgres
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go, for -store sqlite

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/redisstore"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	storeName := flag.String("store", "memory", "session store: memory, redis, miniredis (embedded, in process), sqlite (a file) or postgres")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address, with -store redis")
	dbPath := flag.String("db", "", "SQLite database file, with -store sqlite (default: session-example/sessions.db in the user's cache directory)")
	dsn := flag.String("dsn", "", "PostgreSQL connection string, with -store postgres, e.g. postgres://user:password@127.0.0.1:5432/db")
	timeout := flag.Duration("timeout", 20*time.Minute, "idle timeout of a session")
	prefix := flag.String("prefix", "", "cookie name prefix, e.g. chat_")
	app := flag.String("app", "example", "application name: servers with the same name share sessions")
	flag.Parse()

	target := *redisAddr // where the store lives: see openStore
	switch *storeName {
	case "sqlite":
		target = *dbPath
	case "postgres":
		target = *dsn
	}
	if err := run(*addr, *storeName, target, *app, *timeout, *prefix); err != nil {
		log.Fatal(err)
	}
}

func run(addr, storeName, target, app string, timeout time.Duration, prefix string) error {
	st, closeStore, err := openStore(storeName, target, "session", app)
	if err != nil {
		return err
	}
	defer closeStore()

	keys, err := signingKeys()
	if err != nil {
		return err
	}
	m, err := newManager(st, app, session.Config{
		Keys:        keys,
		IdleTimeout: timeout,
		Cookie:      session.CookieConfig{Prefix: prefix},
	}, log.Default())
	if err != nil {
		return err
	}
	defer m.Close()

	srv := newServer(addr, newRouter(m, os.Getenv("ADMIN_TOKEN")))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("listening on http://%s with the %s store (idle timeout %v)", addr, storeName, timeout)
	return serve(ctx, srv, ln)
}

// serve serves on ln until ctx is done, then shuts srv down and returns
// once the requests in flight have been answered (5 seconds at most):
// only then may run's deferred calls close the Manager and the store that
// those requests still use.
func serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	shutdown := make(chan error, 1)
	go func() {
		<-ctx.Done()
		timeout, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdown <- srv.Shutdown(timeout)
	}()
	// Serve returns as soon as Shutdown begins, before the requests in
	// flight are answered: wait for Shutdown itself.
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-shutdown
}

// newManager returns the session manager of application app on st, with
// hooks that log every expiry and destroy to logger in the one-line formats
// operators' scripts read.
func newManager(st store.Store, app string, cfg session.Config, logger *log.Logger) (*session.Manager, error) {
	cfg.Store = st
	cfg.OnExpired = func(ctx context.Context, e session.Expiry) error {
		logger.Printf("session expired app=%s user=%s keys=%d", app, logValue(e.User), len(e.Values))
		return nil
	}
	cfg.OnDestroyed = func(ctx context.Context, e session.Ended) error {
		logger.Printf("session destroyed app=%s user=%s reason=%s", app, logValue(e.User), e.Reason)
		return nil
	}
	return session.New(cfg)
}

// logValue quotes a user name that could be taken for more than one field
// of a log line (the library already refuses control characters in user
// names, so no name can start a line of its own).
func logValue(s string) string {
	if strings.ContainsAny(s, " =\"") {
		return strconv.Quote(s)
	}
	return s
}

// newServer returns the HTTP server, with a timeout for every stage, so a
// client that stalls (headers or a body sent slowly, a keep-alive left idle)
// cannot hold a connection and its goroutine forever.
func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// openStore returns the session store the -store flag names. target is
// where it lives: the Redis address (-redis), the SQLite file (-db; "" for
// the default) or the PostgreSQL connection string (-dsn). Redis keys start
// with keyPrefix.
func openStore(name, target, keyPrefix, app string) (store.Store, func(), error) {
	switch name {
	case "memory":
		ms := memstore.New(memstore.Config{})
		return ms, func() { ms.Close() }, nil
	case "redis":
		// ContextTimeoutEnabled: calls end at the middleware's StoreTimeout
		// even when Redis stalls (redisstore.New requires it).
		client := redis.NewClient(&redis.Options{Addr: target, ContextTimeoutEnabled: true})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("cannot reach Redis at %s (set -redis, or use -store miniredis): %w", target, err)
		}
		return redisstore.New(client, redisstore.Config{Prefix: keyPrefix, Application: app, Index: true}), func() { client.Close() }, nil
	case "miniredis":
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return nil, nil, fmt.Errorf("start embedded Redis: %w", err)
		}
		client := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
		return redisstore.New(client, redisstore.Config{Prefix: keyPrefix, Application: app, Index: true}), func() { client.Close(); mr.Close() }, nil
	case "sqlite":
		path := target
		if path == "" {
			path = defaultSQLitePath()
		}
		db, err := sqlstore.OpenSQLite(path)
		if err != nil {
			return nil, nil, err
		}
		st, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite, Application: app})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		log.Printf("sessions in %s", path)
		return st, func() { st.Close(); db.Close() }, nil
	case "postgres":
		if target == "" {
			return nil, nil, errors.New("-store postgres needs -dsn, e.g. -dsn postgres://user:password@127.0.0.1:5432/db")
		}
		db, err := sql.Open("pgx", target)
		if err != nil {
			return nil, nil, fmt.Errorf("-dsn: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("cannot reach PostgreSQL (check -dsn): %w", err)
		}
		st, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Postgres, Application: app})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return st, func() { st.Close(); db.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown -store %q: use memory, redis, miniredis, sqlite or postgres", name)
}

// defaultSQLitePath is where -store sqlite keeps sessions without -db: in
// the user's cache directory, which outlives restarts (the point of the
// file) and is the place for data that can be lost without harm (users
// sign in again), and which keeps a `go run ./example` in a checkout from
// leaving a database in the working tree. Without one (no $HOME), the
// working directory.
func defaultSQLitePath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "sessions.db"
	}
	return filepath.Join(dir, "session-example", "sessions.db")
}

// signingKeys reads SESSION_KEYS, or makes a key for this process only.
func signingKeys() ([]session.Key, error) {
	if env := os.Getenv("SESSION_KEYS"); env != "" {
		keys, err := session.ParseKeys(env)
		if err != nil {
			return nil, fmt.Errorf("SESSION_KEYS: %w", err)
		}
		return keys, nil
	}
	log.Printf("warning: SESSION_KEYS is not set: using a random key, so sessions survive neither a restart nor a second server (set SESSION_KEYS to `openssl rand -hex 32`)")
	return []session.Key{{Hash: []byte(rand.Text() + rand.Text())}}, nil
}
