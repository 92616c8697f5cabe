package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"regexp"
	"sync"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Dialect is the SQL database a Store runs on.
type Dialect int

const (
	// Postgres is PostgreSQL 12 or later, through any database/sql driver
	// (tested with PostgreSQL 15 and github.com/jackc/pgx/v5/stdlib).
	Postgres Dialect = iota + 1
	// SQLite is SQLite 3.41 or later (for its unhex function),
	// through any database/sql driver (tested with modernc.org/sqlite, which
	// needs no cgo).
	SQLite
)

// String returns "PostgreSQL" or "SQLite".
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "PostgreSQL"
	case SQLite:
		return "SQLite"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Config configures a Store. Dialect is required; every other field's zero
// value means its stated default.
type Config struct {
	// Dialect is the database the *sql.DB talks to: Postgres or SQLite.
	// Required.
	Dialect Dialect

	// Table names the table of sessions. The store's other tables take it
	// as a prefix: <Table>_values, <Table>_counts, <Table>_reservations,
	// <Table>_events, <Table>_apps and <Table>_schema. A letter or '_',
	// then letters, digits and '_', at most 40 in all. On PostgreSQL the
	// tables go in the first schema of the connection's search_path.
	// Default: "sessions".
	Table string

	// Application keeps sessions apart: stores with different Applications
	// share the tables but never see, count or list each other's sessions,
	// reservations or events. Valid UTF-8 without NUL bytes. Default:
	// "default".
	Application string

	// Retention is how long an expired session is kept for ClaimExpired,
	// which hands it out with its values (see store.Expirer). Past it, the
	// sweeper removes the session. Default: 1 hour.
	Retention time.Duration

	// SweepInterval is how often the sweeper removes what Retention and
	// EventRetention no longer keep, and reservations past their grace
	// period. Expired sessions are never returned in between; the sweep
	// only bounds what the tables hold. Negative: no sweeper (call Sweep
	// yourself). Default: 1 minute.
	SweepInterval time.Duration

	// SweepBatch is how many rows one batch of the sweep removes, in a
	// statement or transaction of its own, so that a sweep never holds
	// locks for long. Default: 500.
	SweepBatch int

	// PollInterval is how often each subscription (Subscribe) asks the
	// database for new events. Default: 1 second.
	PollInterval time.Duration

	// EventRetention is how long an event is kept for subscribers that
	// could not poll in time. Default: 1 minute.
	EventRetention time.Duration

	// OnError receives the errors of work nobody waits for: sweeps and the
	// polls of subscriptions, which are tried again at their next interval.
	// Default: log.Printf.
	OnError func(err error)

	// Now is the clock. Every expiry is computed from it and compared with
	// it, never with the database's clock, so servers and tests agree on
	// what has expired as long as their clocks do. Default: time.Now.
	Now func() time.Time
}

// Defaults of Config's fields.
const (
	defaultTable          = "sessions"
	defaultApplication    = "default"
	defaultRetention      = time.Hour
	defaultSweepInterval  = time.Minute
	defaultSweepBatch     = 500
	defaultPollInterval   = time.Second
	defaultEventRetention = time.Minute
)

// tableName is what Config.Table may be: a plain identifier, short enough
// that its longest derived name, <Table>_reservations_until, fits
// PostgreSQL's 63 bytes.
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,39}$`)

// Store keeps sessions in SQL tables: one row per session, one row per value
// (see the package documentation). It implements store.Store and the four
// capabilities of a server farm, store.Indexer, store.Expirer, store.Limiter
// and store.Notifier, and is safe for concurrent use. Call Close to stop its
// sweeper and subscriptions.
//
// Keys, values and the user of a session are stored byte for byte. Session
// IDs are text, which on PostgreSQL must be valid UTF-8 without NUL bytes
// (the middleware's are base64url): Create, Reserve and Move to such an ID
// return an error, every other call reports it not found.
type Store struct {
	e              engine // the statements of the dialect
	dialect        Dialect
	q              *queries
	app            string
	now            func() time.Time
	onError        func(error)
	retention      time.Duration
	sweepBatch     int
	pollInterval   time.Duration
	eventRetention time.Duration

	ctx       context.Context // canceled by Close: stops the sweeper and subscriptions
	cancel    context.CancelFunc
	sweeper   sync.WaitGroup // the sweeper goroutine
	closeOnce sync.Once
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Indexer  = (*Store)(nil)
	_ store.Expirer  = (*Store)(nil)
	_ store.Limiter  = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
)

// setupTimeout bounds New's work: it may wait for another server that is
// creating or upgrading the tables at the same moment.
const setupTimeout = time.Minute

// New returns a Store on db, creating or upgrading its tables first, and
// starts its sweeper. The Store does not close db.
//
// Several servers may call New on one database at once: on PostgreSQL they
// take turns on an advisory lock, on SQLite on the write lock, and all but
// the first find the tables up to date. With SQLite, db must be a database
// file (not ":memory:", which is a different database on each connection),
// and its connections must wait for a lock instead of failing at once: open
// it with OpenSQLite, or set a busy timeout in the DSN (see OpenSQLite).
// New switches the file to write-ahead logging, which it keeps.
func New(db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: New: db is nil: open one with sql.Open (or OpenSQLite)")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	q := newQueries(cfg.Table)
	s := &Store{
		dialect:        cfg.Dialect,
		q:              q,
		app:            cfg.Application,
		now:            cfg.Now,
		onError:        cfg.OnError,
		retention:      cfg.Retention,
		sweepBatch:     cfg.SweepBatch,
		pollInterval:   cfg.PollInterval,
		eventRetention: cfg.EventRetention,
	}
	switch cfg.Dialect {
	case Postgres:
		s.e = newPostgres(db, q, cfg.Application)
	case SQLite:
		s.e = newSQLite(db, q, cfg.Application)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := s.e.setup(ctx, migrations); err != nil {
		return nil, fmt.Errorf("sqlstore: New: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.SweepInterval > 0 {
		s.sweeper.Go(func() { s.sweepEvery(cfg.SweepInterval) })
	}
	return s, nil
}

// setDefaults fills in the zero fields of cfg, or says what to fix.
func (cfg *Config) setDefaults() error {
	switch cfg.Dialect {
	case Postgres, SQLite:
	case 0:
		return errors.New("sqlstore: Config.Dialect is not set: use sqlstore.Postgres or sqlstore.SQLite")
	default:
		return fmt.Errorf("sqlstore: unknown Config.Dialect %d: use sqlstore.Postgres or sqlstore.SQLite", int(cfg.Dialect))
	}
	if cfg.Table == "" {
		cfg.Table = defaultTable
	}
	if !tableName.MatchString(cfg.Table) {
		return fmt.Errorf("sqlstore: Config.Table %q: use a letter or '_', then letters, digits and '_', at most 40 in all", cfg.Table)
	}
	if cfg.Application == "" {
		cfg.Application = defaultApplication
	}
	if !validText(cfg.Application) {
		return fmt.Errorf("sqlstore: Config.Application %q: use valid UTF-8 without NUL bytes", cfg.Application)
	}
	if cfg.Retention < 0 || cfg.SweepBatch < 0 || cfg.PollInterval < 0 || cfg.EventRetention < 0 {
		return errors.New("sqlstore: Config.Retention, SweepBatch, PollInterval and EventRetention must not be negative")
	}
	setDefault(&cfg.Retention, defaultRetention)
	setDefault(&cfg.SweepInterval, defaultSweepInterval)
	setDefault(&cfg.SweepBatch, defaultSweepBatch)
	setDefault(&cfg.PollInterval, defaultPollInterval)
	setDefault(&cfg.EventRetention, defaultEventRetention)
	if cfg.OnError == nil {
		cfg.OnError = func(err error) { log.Printf("%v", err) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// setDefault sets *v to def when it is zero.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Close stops the sweeper and every subscription, and waits for the
// sweeper to return. The Store keeps working otherwise; it does not close
// the *sql.DB. Close always returns nil, and may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(s.cancel)
	s.sweeper.Wait()
	return nil
}

// millis returns t in milliseconds since the Unix epoch, the unit of every
// time column.
func millis(t time.Time) int64 { return t.UnixMilli() }

// expiry returns when a session given ttl at now expires, in milliseconds,
// rounded up so that it never lives shorter than asked.
func expiry(now int64, ttl time.Duration) int64 {
	return now + int64((ttl+time.Millisecond-1)/time.Millisecond)
}

// instant returns the time of a column in milliseconds, in UTC.
func instant(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
