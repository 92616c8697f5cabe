package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// sqlite runs a Store's operations on SQLite, which lets one connection at
// a time write to a database file. Every operation that writes is one
// transaction whose first statement writes: SQLite then takes the write
// lock before the transaction has read anything, and waits for it (the
// busy timeout). A transaction that read first and wrote later could fail
// with SQLITE_BUSY when another wrote meanwhile, whatever the timeout, and
// the caller would see a 503; TestStatements holds every transaction of
// this file to the rule. In this process, writers also queue on a channel
// before they begin, so they wait in turn instead of polling the lock; the
// busy timeout only serves against other processes. Readers never wait: in
// write-ahead-log mode they read the last committed state while a writer
// works.
//
// Statements run in process, so a write of several statements costs what
// one PostgreSQL statement does not: a round trip. They are prepared once
// per connection: compiling one costs about as much as running it.
type sqlite struct {
	db     *sql.DB
	q      *queries
	app    string
	writer chan struct{} // holds a token while this process writes
	sql    liteStatements
	// prepared holds every statement of the engine by its text, prepared
	// by setup; database/sql prepares each again, once, on every
	// connection it runs on.
	prepared map[string]*sql.Stmt
}

// liteStatements are the statements of the sqlite engine, with table names.
type liteStatements struct {
	create, setValues, consumeReservation, guard, clearValues, dropValues, deleteValues,
	readValues, takeValues,
	recount, move, counted, taken, moveValues, remove, claim, claimValues, reap, reapValues,
	reserveCount, reservePurge, reserve, publish, publishEvent, addCount,
	sweepSessions, sweepReservations, sweepEvents string
}

func newSQLite(db *sql.DB, q *queries, app string) *sqlite {
	return &sqlite{db: db, q: q, app: app, writer: make(chan struct{}, 1), sql: liteStatements{
		create:             q.sql(liteCreate),
		setValues:          q.sql(liteSetValues),
		consumeReservation: q.sql(liteConsumeReservation),
		guard:              q.sql(pgGuard), // the same in both dialects
		clearValues:        q.sql(liteClearValues),
		dropValues:         q.sql(liteDropValues),
		deleteValues:       q.sql(liteDeleteValues),
		readValues:         q.sql(liteReadValues),
		takeValues:         q.sql(liteTakeValues),
		recount:            q.sql(liteRecount),
		move:               q.sql(liteMove),
		counted:            q.sql(liteCounted),
		taken:              q.sql(liteTaken),
		moveValues:         q.sql(liteMoveValues),
		remove:             q.sql(liteRemove),
		claim:              q.sql(liteClaim),
		claimValues:        q.sql(liteClaimValues),
		reap:               q.sql(liteReap),
		reapValues:         q.sql(liteReapValues),
		reserveCount:       q.sql(liteReserveCount),
		reservePurge:       q.sql(litePurgeReservations),
		reserve:            q.sql(liteReserve),
		publish:            q.sql(litePublish),
		publishEvent:       q.sql(litePublishEvent),
		addCount:           q.sql(liteAddCount),
		sweepSessions:      q.sql(liteSweepSessions),
		sweepReservations:  q.sql(litePurgeReservations),
		sweepEvents:        q.sql(liteSweepEvents),
	}}
}

const (
	liteCreate = `/* sqlstore: create */
INSERT INTO {T} (app, id, created, access, expires, nkeys, usr, label, counted)
VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING`

	// liteSetValues sets keys from a JSON array of [key, value] pairs in
	// hex. (WHERE true tells SQLite's parser that ON CONFLICT belongs to
	// the INSERT, not to a join.)
	liteSetValues = `/* sqlstore: set values */
INSERT INTO {V} (app, id, key, value)
SELECT $1, $2, unhex(e.value ->> 0), unhex(e.value ->> 1) FROM json_each($3) e WHERE true
ON CONFLICT (app, id, key) DO UPDATE SET value = excluded.value`

	// liteConsumeReservation deletes an ID's reservation, whose count the
	// session stored under it takes over (counted), first in the
	// transaction that stores it.
	liteConsumeReservation = `/* sqlstore: consume reservation */
DELETE FROM {R} WHERE app = $1 AND id = $2`

	// liteClearValues deletes every value of a session but the metadata,
	// whose keys start with '@' (0x40).
	liteClearValues = `/* sqlstore: clear values */
DELETE FROM {V} WHERE app = $1 AND id = $2 AND substr(key, 1, 1) <> x'40'`

	liteDropValues = `/* sqlstore: drop values */
DELETE FROM {V} WHERE app = $1 AND id = $2`

	liteDeleteValues = `/* sqlstore: delete values */
DELETE FROM {V} WHERE app = $1 AND id = $2 AND key IN (SELECT unhex(value) FROM json_each($3))`

	liteReadValues = `/* sqlstore: read values */
SELECT key, value FROM {V} WHERE app = $1 AND id = $2 AND key IN (SELECT unhex(value) FROM json_each($3))`

	// liteTakeValues deletes keys and returns the values they held.
	liteTakeValues = `/* sqlstore: take values */
DELETE FROM {V} WHERE app = $1 AND id = $2 AND key IN (SELECT unhex(value) FROM json_each($3))
RETURNING key, value`

	liteRecount = `/* sqlstore: recount */
UPDATE {T} SET nkeys = (SELECT count(*) FROM {V} WHERE app = $1 AND id = $2)
WHERE app = $1 AND id = $2
RETURNING nkeys`

	liteMove = `/* sqlstore: move */
UPDATE {T} SET id = $3, access = $4, expires = $5,
	usr = CASE WHEN $6 THEN $7 ELSE usr END,
	label = CASE WHEN $8 THEN $9 ELSE label END,
	counted = counted OR $10
WHERE app = $1 AND id = $2 AND expires > $4 AND lease = 0
AND NOT EXISTS (SELECT 1 FROM {T} WHERE app = $1 AND id = $3)`

	liteCounted = `/* sqlstore: counted */
SELECT counted FROM {T} WHERE app = $1 AND id = $2`

	liteTaken = `/* sqlstore: taken */
SELECT EXISTS (SELECT 1 FROM {T} WHERE app = $1 AND id = $2)`

	liteMoveValues = `/* sqlstore: move values */
UPDATE {V} SET id = $3 WHERE app = $1 AND id = $2`

	liteRemove = `/* sqlstore: delete */
DELETE FROM {T} WHERE app = $1 AND id = $2 AND expires > $3 AND lease = 0
RETURNING usr, label, created, access, expires, counted`

	liteClaim = `/* sqlstore: claim */
UPDATE {T} SET lease = $4 WHERE app = $1 AND id IN (
	SELECT id FROM {T} WHERE app = $1 AND expires <= $2 AND lease <= $2
	ORDER BY expires LIMIT $3)
RETURNING id, usr, label, created, access, expires`

	liteClaimValues = `/* sqlstore: claim values */
SELECT id, key, value FROM {V} WHERE app = $1 AND id IN (SELECT value FROM json_each($2))`

	liteReap = `/* sqlstore: reap */
DELETE FROM {T} WHERE app = $1 AND id IN (SELECT value FROM json_each($2)) AND expires <= $3
RETURNING id, counted`

	liteReapValues = `/* sqlstore: reap values */
DELETE FROM {V} WHERE app = $1 AND id IN (SELECT value FROM json_each($2))`

	liteReserveCount = `/* sqlstore: reserve count */
SELECT coalesce(sum(n), 0) FROM {C} WHERE app = $1`

	// litePurgeReservations deletes lapsed reservations: for Reserve and
	// for the sweep.
	litePurgeReservations = `/* sqlstore: purge reservations */
DELETE FROM {R} WHERE app = $1 AND id IN (
	SELECT id FROM {R} WHERE app = $1 AND until <= $2 LIMIT $3)
RETURNING id`

	liteReserve = `/* sqlstore: reserve */
INSERT INTO {R} (app, id, until) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`

	litePublish = `/* sqlstore: publish */
UPDATE {A} SET last_event = last_event + 1 WHERE app = $1 RETURNING last_event`

	litePublishEvent = `/* sqlstore: publish event */
INSERT INTO {E} (app, seq, at, kind, id, usr, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`

	liteAddCount = `/* sqlstore: count */
UPDATE {C} SET n = n + $3 WHERE app = $1 AND shard = $2`

	liteSweepSessions = `/* sqlstore: sweep */
DELETE FROM {T} WHERE app = $1 AND id IN (
	SELECT id FROM {T} WHERE app = $1 AND expires <= $2
	ORDER BY expires LIMIT $3)
RETURNING id, counted`

	liteSweepEvents = `/* sqlstore: sweep events */
DELETE FROM {E} WHERE app = $1 AND seq IN (
	SELECT seq FROM {E} WHERE app = $1 AND at <= $2 ORDER BY seq LIMIT $3)`
)

// tx runs fn in a transaction whose statements are prepared, committed when
// fn returns nil and rolled back otherwise. fn's first statement must write
// (see sqlite), and is the only one that can wait: see writeTx.
func (l *sqlite) tx(ctx context.Context, fn func(q querier) error) error {
	select {
	case l.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.writer }()
	// BEGIN takes no lock, and COMMIT in write-ahead-log mode waits for
	// none: only the wait for a connection needs ctx.
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return err
	}
	if err := fn(&writeTx{preparedTx: preparedTx{tx: tx, prepared: l.prepared}}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// write runs one statement that writes, in SQLite's own transaction, once
// this process's other writers are done.
func (l *sqlite) write(ctx context.Context, query string, args ...any) (sql.Result, error) {
	select {
	case l.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.writer }()
	return l.reader().ExecContext(ctx, query, args...)
}

// reader returns what runs statements outside a transaction: the prepared
// statements.
func (l *sqlite) reader() querier { return preparedDB{db: l.db, prepared: l.prepared} }

// immediate runs fn in a transaction begun with BEGIN IMMEDIATE on a
// connection of its own, which takes the write lock before fn reads: for
// setup, whose first statements read the schema version. The driver does
// not know of the transaction, so a connection whose transaction cannot be
// seen to end is discarded rather than returned to the pool.
func (l *sqlite) immediate(ctx context.Context, fn func(q querier) error) error {
	select {
	case l.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.writer }()
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		discard(conn) // the driver may have begun it before failing
		return err
	}
	if err := fn(conn); err != nil {
		rollback(conn)
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback(conn)
		return err
	}
	return nil
}

// rollback ends the transaction of conn, with a context of its own since
// the caller's may be done, or discards conn.
func rollback(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		discard(conn)
	}
}

// discard has database/sql close conn instead of returning it to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// setup switches the file to write-ahead logging, which SQLite keeps in the
// file, checks that connections wait for locks, then creates or upgrades
// the tables in a write transaction, which other servers wait for.
func (l *sqlite) setup(ctx context.Context, steps []migration) error {
	var mode string
	if err := l.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("switch to write-ahead logging: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("the journal mode is %q, not WAL: open a database file, not an in-memory database "+
			"(each connection of a pool would have a database of its own)", mode)
	}
	var timeout int
	if err := l.db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
		return fmt.Errorf("read the busy timeout: %w", err)
	}
	if timeout <= 0 {
		return errors.New("connections do not wait for locks (busy_timeout is 0), so a write fails at once " +
			"while another process writes: open the database with sqlstore.OpenSQLite, or add " +
			"_pragma=busy_timeout(10000) to a modernc.org/sqlite DSN (_busy_timeout=10000 for mattn/go-sqlite3)")
	}
	if err := l.immediate(ctx, func(q querier) error { return migrate(ctx, q, l.q, steps, SQLite, l.app) }); err != nil {
		return err
	}
	return l.prepare(ctx)
}

// prepare prepares every statement of the engine, now that the tables
// exist.
func (l *sqlite) prepare(ctx context.Context) error {
	texts := []string{l.q.load, l.q.touch, l.q.count, l.q.list, l.q.peek, l.q.userSessions, l.q.lastEvent, l.q.events}
	v := reflect.ValueOf(l.sql)
	for i := range v.NumField() {
		texts = append(texts, v.Field(i).String())
	}
	l.prepared = make(map[string]*sql.Stmt, len(texts))
	for _, text := range texts {
		st, err := l.db.PrepareContext(ctx, text)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", text, err)
		}
		l.prepared[text] = st
	}
	return nil
}

func (l *sqlite) loadTouch(ctx context.Context, id string, now, exp int64) (values map[string][]byte, found bool, err error) {
	err = l.tx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, l.q.touch, l.app, id, now, exp)
		if err != nil {
			return err
		}
		if ok, err := affected(res); err != nil || !ok {
			return orElse(err, errNotFound)
		}
		values, found, err = readValues(q.QueryContext(ctx, l.q.load, l.app, id, now))
		return err
	})
	if errors.Is(err, errNotFound) {
		return nil, false, nil
	}
	return values, found, err
}

func (l *sqlite) touch(ctx context.Context, id string, now, exp int64) (bool, error) {
	res, err := l.write(ctx, l.q.touch, l.app, id, now, exp)
	if err != nil {
		return false, err
	}
	return affected(res)
}

func (l *sqlite) create(ctx context.Context, id string, c *change, now, exp int64) error {
	return l.tx(ctx, func(q querier) error {
		reserved, err := l.consumeReservation(ctx, q, id)
		if err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, l.sql.create, l.app, id, now, exp, c.nset, c.user.value, c.label.value, reserved)
		if err != nil {
			return err
		}
		if ok, err := affected(res); err != nil || !ok {
			return orElse(err, store.ErrExists) // rolls the reservation back
		}
		if c.nset > 0 {
			_, err = q.ExecContext(ctx, l.sql.setValues, l.app, id, c.set)
		}
		return err
	})
}

// consumeReservation deletes the reservation of id and reports whether
// there was one.
func (l *sqlite) consumeReservation(ctx context.Context, q querier, id string) (bool, error) {
	res, err := q.ExecContext(ctx, l.sql.consumeReservation, l.app, id)
	if err != nil {
		return false, err
	}
	return affected(res)
}

func (l *sqlite) update(ctx context.Context, id string, c *change, now, exp int64, maxKeys int) (bool, error) {
	err := l.tx(ctx, func(q querier) error {
		if err := guard(ctx, q, l.sql.guard, l.app, id, c.user, c.label, now, exp); err != nil {
			return err
		}
		return l.applyLimited(ctx, q, id, c, maxKeys)
	})
	return found(err)
}

// applyLimited applies c and refuses a result of more than maxKeys values.
func (l *sqlite) applyLimited(ctx context.Context, q querier, id string, c *change, maxKeys int) error {
	if c.empty() {
		return nil // adds no key: the count and the limit stand as they were
	}
	_, n, err := l.applyChange(ctx, q, id, c)
	if err != nil {
		return err
	}
	return limit(n, maxKeys)
}

// applyChange applies c to the values of session id, whose row the
// transaction has written, and returns the values it took and how many
// values the session then holds. nkeys is kept exact: counting is cheap in
// process.
func (l *sqlite) applyChange(ctx context.Context, q querier, id string, c *change) (taken map[string][]byte, n int, err error) {
	if c.clear {
		if _, err := q.ExecContext(ctx, l.sql.clearValues, l.app, id); err != nil {
			return nil, 0, err
		}
	}
	if c.ndel > 0 {
		if _, err := q.ExecContext(ctx, l.sql.deleteValues, l.app, id, c.del); err != nil {
			return nil, 0, err
		}
	}
	if c.ntake > 0 {
		if taken, err = readPairs(q.QueryContext(ctx, l.sql.takeValues, l.app, id, c.take)); err != nil {
			return nil, 0, err
		}
	}
	if c.nset > 0 {
		if _, err := q.ExecContext(ctx, l.sql.setValues, l.app, id, c.set); err != nil {
			return nil, 0, err
		}
	}
	if err := q.QueryRowContext(ctx, l.sql.recount, l.app, id).Scan(&n); err != nil {
		return nil, 0, err
	}
	return taken, n, nil
}

// apply runs Apply's steps in a transaction (see applySteps.run).
func (l *sqlite) apply(ctx context.Context, id string, a *addTake, now, exp int64, maxKeys int) (values map[string][]byte, ok bool, err error) {
	steps := applySteps{app: l.app, guard: l.sql.guard, read: l.sql.readValues, change: l.applyChange}
	err = l.tx(ctx, func(q querier) error {
		values, err = steps.run(ctx, q, id, a, now, exp, maxKeys)
		return err
	})
	if ok, err = found(err); !ok {
		return nil, false, err
	}
	return values, true, nil
}

// move consumes the reservation of the new ID first (a write: see sqlite),
// then renames the session and its values and applies the change. A
// session that was counted already counts once: its reservation's count
// goes.
func (l *sqlite) move(ctx context.Context, from, to string, c *change, now, exp int64, maxKeys int) (bool, error) {
	err := l.tx(ctx, func(q querier) error {
		reserved, err := l.consumeReservation(ctx, q, to)
		if err != nil {
			return err
		}
		var counted bool
		if reserved {
			err := q.QueryRowContext(ctx, l.sql.counted, l.app, from).Scan(&counted)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		res, err := q.ExecContext(ctx, l.sql.move, l.app, from, to, now, exp,
			c.user.change, c.user.value, c.label.change, c.label.value, reserved)
		if err != nil {
			return err
		}
		if ok, err := affected(res); err != nil || !ok {
			if err != nil {
				return err
			}
			var taken bool
			if err := q.QueryRowContext(ctx, l.sql.taken, l.app, to).Scan(&taken); err != nil {
				return err
			}
			if taken {
				return store.ErrExists
			}
			return errNotFound
		}
		if _, err := q.ExecContext(ctx, l.sql.moveValues, l.app, from, to); err != nil {
			return err
		}
		if reserved && counted {
			if err := l.addCount(ctx, q, shardOf(to), -1); err != nil {
				return err
			}
		}
		return l.applyLimited(ctx, q, to, c, maxKeys)
	})
	return found(err)
}

func (l *sqlite) remove(ctx context.Context, id string, now int64) (info store.Info, ok bool, err error) {
	err = l.tx(ctx, func(q querier) error {
		var user, label []byte
		var created, access, expires int64
		var counted bool
		err := q.QueryRowContext(ctx, l.sql.remove, l.app, id, now).Scan(&user, &label, &created, &access, &expires, &counted)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		info.ID = id
		fillInfo(&info, user, label, created, access, expires)
		if _, err := q.ExecContext(ctx, l.sql.dropValues, l.app, id); err != nil {
			return err
		}
		if !counted {
			return nil
		}
		return l.addCount(ctx, q, shardOf(id), -1)
	})
	if err != nil {
		return store.Info{}, false, err
	}
	return info, ok, nil
}

func (l *sqlite) claim(ctx context.Context, now, until, cut int64, limit int) (recs []store.Record, err error) {
	err = l.tx(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, l.sql.claim, l.app, now, limit, until)
		if recs, err = readInfos(rows, err); err != nil {
			return err
		}
		// RETURNING gives no order: oldest first, as PostgreSQL's.
		slices.SortFunc(recs, byExpiry)
		var keep, old []string
		byID := make(map[string]*store.Record, len(recs))
		for i := range recs {
			r := &recs[i]
			byID[r.ID] = r
			if millis(r.Expires) > cut {
				r.Values = make(map[string][]byte)
				keep = append(keep, r.ID)
			} else {
				old = append(old, r.ID)
			}
		}
		if len(keep) > 0 {
			rows, err := q.QueryContext(ctx, l.sql.claimValues, l.app, idList(keep))
			if err := readClaimedValues(rows, err, byID); err != nil {
				return err
			}
		}
		if len(old) == 0 {
			return nil
		}
		_, err = l.deleteSessions(ctx, q, l.sql.reap, idList(old), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

func (l *sqlite) reap(ctx context.Context, ids []string, now int64) error {
	return l.tx(ctx, func(q querier) error {
		_, err := l.deleteSessions(ctx, q, l.sql.reap, idList(ids), now)
		return err
	})
}

// deleteSessions runs a statement that deletes expired sessions and returns
// their IDs and whether each was counted, then deletes their values and
// stops counting them.
func (l *sqlite) deleteSessions(ctx context.Context, q querier, query string, args ...any) (int, error) {
	rows, err := q.QueryContext(ctx, query, append([]any{l.app}, args...)...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var ids []string
	counted := 0
	for rows.Next() {
		var id string
		var c bool
		if err := rows.Scan(&id, &c); err != nil {
			return 0, err
		}
		ids = append(ids, id)
		if c {
			counted++
		}
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	if _, err := q.ExecContext(ctx, l.sql.reapValues, l.app, idList(ids)); err != nil {
		return 0, err
	}
	return len(ids), l.addCount(ctx, q, shardOf(ids[0]), -int64(counted))
}

// addCount adds n to one row of the application's counts: only their sum
// matters.
func (l *sqlite) addCount(ctx context.Context, q querier, shard int, n int64) error {
	if n == 0 {
		return nil
	}
	_, err := q.ExecContext(ctx, l.sql.addCount, l.app, shard, n)
	return err
}

// reserve inserts the reservation first (a write: see sqlite), then counts;
// over the limit it removes lapsed reservations and counts again, and
// rolls back if that made no room.
func (l *sqlite) reserve(ctx context.Context, id string, max int, now, until int64) (bool, error) {
	err := l.tx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, l.sql.reserve, l.app, id, until)
		if err != nil {
			return err
		}
		if added, err := affected(res); err != nil || !added {
			return err // reserved already: counted
		}
		if err := l.addCount(ctx, q, shardOf(id), 1); err != nil {
			return err
		}
		if max <= 0 {
			return nil
		}
		var total int64
		if err := q.QueryRowContext(ctx, l.sql.reserveCount, l.app).Scan(&total); err != nil {
			return err
		}
		if total <= int64(max) {
			return nil
		}
		ids, err := readIDs(q.QueryContext(ctx, l.sql.reservePurge, l.app, now, purgeBatch))
		if err != nil {
			return err
		}
		if total-int64(len(ids)) > int64(max) {
			return errLimit
		}
		return l.addCount(ctx, q, shardOf(id), -int64(len(ids)))
	})
	if errors.Is(err, errLimit) {
		return false, nil
	}
	return err == nil, err
}

// errLimit rolls back a reservation beyond the limit.
var errLimit = errors.New("sqlstore: the limit is reached")

func (l *sqlite) publish(ctx context.Context, e store.Event, now int64) error {
	return l.tx(ctx, func(q querier) error {
		var seq int64
		err := q.QueryRowContext(ctx, l.sql.publish, l.app).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoApp
		}
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, l.sql.publishEvent, l.app, seq, now, int(e.Kind), e.ID, nilIfEmpty(e.User), e.Reason)
		return err
	})
}

func (l *sqlite) sweep(ctx context.Context, what sweepTarget, now, cut int64, n int) (removed int, err error) {
	err = l.tx(ctx, func(q querier) error {
		switch what {
		case sweepEvents:
			res, err := q.ExecContext(ctx, l.sql.sweepEvents, l.app, cut, n)
			if err != nil {
				return err
			}
			m, err := res.RowsAffected()
			removed = int(m)
			return err
		case sweepReservations:
			ids, err := readIDs(q.QueryContext(ctx, l.sql.sweepReservations, l.app, cut, n))
			if err != nil || len(ids) == 0 {
				return err
			}
			removed = len(ids)
			return l.addCount(ctx, q, shardOf(ids[0]), -int64(len(ids)))
		default:
			var err error
			removed, err = l.deleteSessions(ctx, q, l.sql.sweepSessions, cut, n)
			return err
		}
	})
	return removed, err
}

// preparedDB runs the statements that have been prepared through their
// *sql.Stmt, and any other through db.
type preparedDB struct {
	db       *sql.DB
	prepared map[string]*sql.Stmt
}

func (p preparedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.prepared[query]; st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, query, args...)
}

func (p preparedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.prepared[query]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p preparedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.prepared[query]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// writeTx runs the statements of a write transaction. Only the first can
// wait: it takes the write lock, which another process may hold, so it runs
// with the caller's context, whose end ends the wait. Once the lock is held
// a statement runs in process in microseconds and waits for nothing, so the
// others run without the context's cancellation, the context being checked
// before each. With a context that can be canceled, the driver
// (modernc.org/sqlite) starts and stops a goroutine to watch it for every
// statement, while this process's other writers queue for the lock: on a
// loaded server (bench/run.sh, GOMAXPROCS=1) those goroutines took the 99th
// percentile of a write from about 10 ms to about 50 ms.
type writeTx struct {
	preparedTx
	locked bool // the first statement has run
}

// context returns what the next statement runs with: ctx for the first,
// and for the others ctx without its cancellation, unless ctx is done
// already (database/sql then fails the statement with ctx's error before it
// runs).
func (w *writeTx) context(ctx context.Context) context.Context {
	if !w.locked || ctx.Err() != nil {
		w.locked = true
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (w *writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return w.preparedTx.ExecContext(w.context(ctx), query, args...)
}

func (w *writeTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return w.preparedTx.QueryContext(w.context(ctx), query, args...)
}

func (w *writeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return w.preparedTx.QueryRowContext(w.context(ctx), query, args...)
}

// preparedTx is preparedDB in a transaction.
type preparedTx struct {
	tx       *sql.Tx
	prepared map[string]*sql.Stmt
}

func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.prepared[query]; st != nil {
		return p.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.prepared[query]; st != nil {
		return p.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, query, args...)
}

func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.prepared[query]; st != nil {
		return p.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}
