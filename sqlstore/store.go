package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed58a3dad2/session/store"
)

// An engine runs the operations whose statements differ between the
// dialects: PostgreSQL does in one statement, with data-modifying WITH
// clauses and row locks, what SQLite does in a write transaction of several
// (see postgres.go and sqlite.go). The arguments are already checked, and
// times are in milliseconds.
type engine interface {
	// setup creates or upgrades the tables with steps and registers the
	// application.
	setup(ctx context.Context, steps []migration) error
	// reader returns what runs the statements outside a transaction: the
	// reads Store runs itself, with the statements of queries.
	reader() querier
	// loadTouch is Load with a ttl: the values of a live session, whose
	// expiry becomes exp.
	loadTouch(ctx context.Context, id string, now, exp int64) (map[string][]byte, bool, error)
	create(ctx context.Context, id string, c *change, now, exp int64) error
	update(ctx context.Context, id string, c *change, now, exp int64, maxKeys int) (bool, error)
	// apply is update for a Delta with Add or Take: it returns the sums
	// and the values taken (see addTake).
	apply(ctx context.Context, id string, a *addTake, now, exp int64, maxKeys int) (map[string][]byte, bool, error)
	move(ctx context.Context, from, to string, c *change, now, exp int64, maxKeys int) (bool, error)
	touch(ctx context.Context, id string, now, exp int64) (bool, error)
	// remove deletes a live session and returns what it was.
	remove(ctx context.Context, id string, now int64) (store.Info, bool, error)
	claim(ctx context.Context, now, until, cut int64, limit int) ([]store.Record, error)
	reap(ctx context.Context, ids []string, now int64) error
	reserve(ctx context.Context, id string, max int, now, until int64) (bool, error)
	publish(ctx context.Context, e store.Event, now int64) error
	// sweep removes up to n rows of what, and returns how many it removed.
	sweep(ctx context.Context, what sweepTarget, now, cut int64, n int) (int, error)
}

// validText reports whether s fits a text column: PostgreSQL's hold valid
// UTF-8 without NUL bytes. Session IDs, applications and event reasons are
// text (readable in psql and in the indexes); keys, values and users are
// bytes.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// badID returns the error for an ID that no session can have.
func badID(op, id string) error {
	return fmt.Errorf("sqlstore: %s: session ID %q is not valid UTF-8 without NUL bytes, which IDs must be "+
		"(the middleware's are base64url)", op, id)
}

// errNotFound tells a transaction's caller that the session is not live,
// after the transaction was rolled back.
var errNotFound = errors.New("sqlstore: session not found")

// Load returns the values of session id, with one query. With a ttl
// greater than zero it also sets the session's expiry: on PostgreSQL in the
// same statement, on SQLite in a write transaction of two.
func (s *Store) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlstore: load: %w", err)
	}
	if !validText(id) {
		return nil, false, nil // no session has it
	}
	now := millis(s.now())
	var (
		values map[string][]byte
		found  bool
		err    error
	)
	if ttl > 0 {
		values, found, err = s.e.loadTouch(ctx, id, now, expiry(now, ttl))
	} else {
		values, found, err = readValues(s.e.reader().QueryContext(ctx, s.q.load, s.app, id, now))
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: load: %w", err)
	}
	return values, found, nil
}

// Create stores a new session with values, expiring after ttl. A ttl of
// zero or less creates a session that has already expired: nothing is
// stored. An ID that an expired session kept for its claimer (see
// Retention) still holds is in use, and Create returns store.ErrExists.
func (s *Store) Create(ctx context.Context, id string, values map[string][]byte, ttl time.Duration, maxKeys int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: create: %w", err)
	}
	if maxKeys > 0 && len(values) > maxKeys {
		return store.ErrTooManyKeys
	}
	if ttl <= 0 {
		return nil
	}
	if !validText(id) {
		return badID("create", id)
	}
	if err := s.checkKeys("create", maps.Keys(values)); err != nil {
		return err
	}
	now := millis(s.now())
	err := s.e.create(ctx, id, newValues(values), now, expiry(now, ttl))
	if err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("sqlstore: create: %w", err)
	}
	return err
}

// Update applies d to session id and sets its expiry, atomically. A ttl of
// zero or less ends the session.
func (s *Store) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	return s.update(ctx, "update", id, &d, ttl, maxKeys)
}

// update is Update, for Apply too; op names it in errors.
func (s *Store) update(ctx context.Context, op, id string, d *store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if ttl <= 0 {
		_, found, err := s.remove(ctx, op, id)
		return found, err
	}
	if !validText(id) {
		return false, nil
	}
	if err := s.checkKeys(op, maps.Keys(d.Set)); err != nil {
		return false, err
	}
	now := millis(s.now())
	found, err := s.e.update(ctx, id, newChange(d), now, expiry(now, ttl), maxKeys)
	if err != nil && !errors.Is(err, store.ErrTooManyKeys) {
		return false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return found, err
}

// Move gives session from the ID to, with d applied and a new expiry,
// atomically. A ttl of zero or less ends the session.
func (s *Store) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("sqlstore: move: %w", err)
	}
	if ttl <= 0 {
		return s.Delete(ctx, from)
	}
	if !validText(from) {
		return false, nil
	}
	if !validText(to) {
		return false, badID("move", to)
	}
	if err := s.checkKeys("move", maps.Keys(d.Set)); err != nil {
		return false, err
	}
	now := millis(s.now())
	found, err := s.e.move(ctx, from, to, newChange(&d), now, expiry(now, ttl), maxKeys)
	if err != nil && !errors.Is(err, store.ErrTooManyKeys) && !errors.Is(err, store.ErrExists) {
		return false, fmt.Errorf("sqlstore: move: %w", err)
	}
	return found, err
}

// Touch sets the expiry of session id, with one statement. A ttl of zero or
// less ends the session.
func (s *Store) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("sqlstore: touch: %w", err)
	}
	if ttl <= 0 {
		return s.Delete(ctx, id)
	}
	if !validText(id) {
		return false, nil
	}
	now := millis(s.now())
	found, err := s.e.touch(ctx, id, now, expiry(now, ttl))
	if err != nil {
		return false, fmt.Errorf("sqlstore: touch: %w", err)
	}
	return found, nil
}

// Delete removes session id and reports whether it was live. An expired
// session is not removed: it is kept for its claimer (see ClaimExpired).
func (s *Store) Delete(ctx context.Context, id string) (bool, error) {
	_, found, err := s.remove(ctx, "delete", id)
	return found, err
}

// remove is Delete, returning what was removed; op names it in errors.
func (s *Store) remove(ctx context.Context, op, id string) (store.Info, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Info{}, false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if !validText(id) {
		return store.Info{}, false, nil
	}
	info, found, err := s.e.remove(ctx, id, millis(s.now()))
	if err != nil {
		return store.Info{}, false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return info, found, nil
}

// guard runs query, pgGuard in both dialects: it writes (on PostgreSQL,
// locks) the row of live session id, setting its expiry and the metadata
// columns, first in a transaction that changes the session's values. It
// returns errNotFound when the session is not live.
func guard(ctx context.Context, q querier, query, app, id string, user, label column, now, exp int64) error {
	res, err := q.ExecContext(ctx, query, app, id, now, exp, user.change, user.value, label.change, label.value)
	if err != nil {
		return err
	}
	if ok, err := affected(res); err != nil || !ok {
		return orElse(err, errNotFound)
	}
	return nil
}

// readValues reads the rows of loadSQL, or of a statement with the same
// three columns: whether the row holds a value, its key and its value.
// found is true when there was a row.
func readValues(rows *sql.Rows, err error) (map[string][]byte, bool, error) {
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var values map[string][]byte
	for rows.Next() {
		var (
			present    bool
			key, value []byte
		)
		if err := rows.Scan(&present, &key, &value); err != nil {
			return nil, false, err
		}
		if values == nil {
			values = make(map[string][]byte)
		}
		if present {
			values[string(key)] = nonNil(value)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return values, values != nil, nil
}

// affected reports whether res changed a row.
func affected(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}

// MaxPostgresKey is the longest key the store keeps on PostgreSQL: the
// primary key of the values table is a B-tree index, whose entries hold up
// to about 2.7 KB. Keep the middleware's Config.MaxKeyLength (default 128)
// at most this. SQLite has no such limit.
const MaxPostgresKey = 2000

// ErrKeyTooLong is returned, writing nothing, for a key longer than
// MaxPostgresKey on PostgreSQL.
var ErrKeyTooLong = errors.New("sqlstore: a key is longer than PostgreSQL's index holds (MaxPostgresKey, 2000 bytes): keep session.Config.MaxKeyLength at most 2000")

// checkKeys refuses keys the database cannot index.
func (s *Store) checkKeys(op string, keys iter.Seq[string]) error {
	if s.dialect != Postgres {
		return nil
	}
	for k := range keys {
		if len(k) > MaxPostgresKey {
			return fmt.Errorf("sqlstore: %s: %w", op, ErrKeyTooLong)
		}
	}
	return nil
}
