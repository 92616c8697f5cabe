package sqltest

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
)

// Counter records the statements a driver receives through the connectors it
// wraps: one entry per query or command sent, per transaction begun, and per
// commit and rollback, each named by the comment the statement starts with
// ("/* sqlstore: update */ UPDATE ..." is "update") or else its first word in
// lower case ("begin", "commit", "select"). With PostgreSQL each entry is one
// round trip to the server once the connection has prepared the statement
// (pgx prepares each new statement text once per connection, at the cost of
// one more round trip); with SQLite each is one statement run in process.
//
// What the driver does on its own is not seen: pgx pings a connection that
// was idle for more than a second before reusing it, and opens connections
// with a handshake. A Counter is safe for concurrent use; the zero value is
// ready to use.
type Counter struct {
	mu    sync.Mutex // protects names
	names []string
}

// Connector returns a connector that opens connections with inner and
// records what they are sent in c.
func (c *Counter) Connector(inner driver.Connector) driver.Connector {
	return Hook(inner, c.add)
}

// Hook returns a connector that opens connections with inner and calls
// record with the name of everything they are sent, as Counter records it
// (see Name). record must be safe for concurrent use.
func Hook(inner driver.Connector, record func(name string)) driver.Connector {
	return &connector{inner: inner, record: record}
}

// Statements returns the names of what was recorded since the last Reset, in
// order.
func (c *Counter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.names...)
}

// Len returns how many entries were recorded since the last Reset.
func (c *Counter) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.names)
}

// Reset forgets what was recorded.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names = nil
}

func (c *Counter) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names = append(c.names, name)
}

// Name returns the name Counter records for query: the text of a leading
// "/* ... */" comment without a "sqlstore: " prefix, else the first word in
// lower case.
func Name(query string) string {
	q := strings.TrimSpace(query)
	if rest, ok := strings.CutPrefix(q, "/*"); ok {
		if comment, _, ok := strings.Cut(rest, "*/"); ok {
			comment = strings.TrimSpace(comment)
			return strings.TrimPrefix(comment, "sqlstore: ")
		}
	}
	word, _, _ := strings.Cut(q, " ")
	return strings.ToLower(strings.TrimRight(word, ";"))
}

type connector struct {
	inner  driver.Connector
	record func(name string)
}

func (k *connector) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := k.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{inner: inner, record: k.record}, nil
}

func (k *connector) Driver() driver.Driver { return k.inner.Driver() }

// conn forwards every optional interface database/sql looks for, so that
// the driver is used exactly as it would be without the wrapper: where the
// inner connection lacks one, it answers as database/sql expects of a
// connection without it.
type conn struct {
	inner  driver.Conn
	record func(name string)
}

var (
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

func (w *conn) Prepare(query string) (driver.Stmt, error) {
	return w.PrepareContext(context.Background(), query)
}

func (w *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var s driver.Stmt
	var err error
	if p, ok := w.inner.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, query)
	} else {
		s, err = w.inner.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{inner: s, name: Name(query), record: w.record}, nil
}

func (w *conn) Close() error { return w.inner.Close() }

func (w *conn) Begin() (driver.Tx, error) {
	return w.BeginTx(context.Background(), driver.TxOptions{})
}

func (w *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	w.record("begin")
	var t driver.Tx
	var err error
	if b, ok := w.inner.(driver.ConnBeginTx); ok {
		t, err = b.BeginTx(ctx, opts)
	} else {
		//lint:ignore SA1019 the fallback database/sql uses too
		t, err = w.inner.Begin()
	}
	if err != nil {
		return nil, err
	}
	return &tx{inner: t, record: w.record}, nil
}

func (w *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := w.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares, and stmt counts
	}
	r, err := e.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		w.record(Name(query))
	}
	return r, err
}

func (w *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := w.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		w.record(Name(query))
	}
	return r, err
}

func (w *conn) Ping(ctx context.Context) error {
	if p, ok := w.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (w *conn) CheckNamedValue(v *driver.NamedValue) error {
	if c, ok := w.inner.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(v)
	}
	return driver.ErrSkip // the default conversion
}

func (w *conn) ResetSession(ctx context.Context) error {
	if r, ok := w.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (w *conn) IsValid() bool {
	if v, ok := w.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type tx struct {
	inner  driver.Tx
	record func(name string)
}

func (t *tx) Commit() error {
	t.record("commit")
	return t.inner.Commit()
}

func (t *tx) Rollback() error {
	t.record("rollback")
	return t.inner.Rollback()
}

type stmt struct {
	inner  driver.Stmt
	name   string
	record func(name string)
}

func (s *stmt) Close() error  { return s.inner.Close() }
func (s *stmt) NumInput() int { return s.inner.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	s.record(s.name)
	//lint:ignore SA1019 what database/sql calls without ExecContext
	return s.inner.Exec(args)
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	s.record(s.name)
	//lint:ignore SA1019 as Exec
	return s.inner.Query(args)
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.record(s.name)
	if e, ok := s.inner.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	//lint:ignore SA1019 what database/sql calls without ExecContext
	return s.inner.Exec(vals)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.record(s.name)
	if q, ok := s.inner.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	//lint:ignore SA1019 as Exec
	return s.inner.Query(vals)
}

// values converts args for a statement without the Context methods, as
// database/sql does.
func values(args []driver.NamedValue) ([]driver.Value, error) {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("sqltest: the driver does not support named parameters")
		}
		vals[i] = a.Value
	}
	return vals, nil
}
