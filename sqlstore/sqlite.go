package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// sqlite runs a Store's operations on SQLite, which lets one connection at
// a time write to a database file. Every operation that writes is one
// transaction begun with BEGIN IMMEDIATE, which takes the write lock at
// once: a transaction that began by reading and then wanted to write could
// fail with SQLITE_BUSY when another wrote meanwhile, whatever the busy
// timeout, and then the caller would see a 503. In this process, writers
// also queue on a channel before they take a connection, so they wait in
// turn instead of polling the lock; the busy timeout only serves against
// other processes. Readers never wait: in write-ahead-log mode they read
// the last committed state while a writer works.
//
// Statements run in process, so a write of several statements costs what
// one PostgreSQL statement does not: a round trip.
type sqlite struct {
	db     *sql.DB
	q      *queries
	app    string
	writer chan struct{} // holds a token while this process writes
	sql    liteStatements
}

// liteStatements are the statements of the sqlite engine, with table names.
type liteStatements struct {
	create, setValues, countNew, consumeReservation, guard, clearValues, deleteValues,
	recount, move, taken, moveValues, remove, claim, claimValues, reap, reapValues,
	reserveCount, reservePurge, reserve, publish, publishEvent, addCounts,
	sweepSessions, sweepReservations, sweepEvents string
}

func newSQLite(db *sql.DB, q *queries, app string) *sqlite {
	return &sqlite{db: db, q: q, app: app, writer: make(chan struct{}, 1), sql: liteStatements{
		create:             q.sql(liteCreate),
		setValues:          q.sql(liteSetValues),
		countNew:           q.sql(liteCountNew),
		consumeReservation: q.sql(liteConsumeReservation),
		guard:              q.sql(pgGuard), // the same in both dialects
		clearValues:        q.sql(liteClearValues),
		deleteValues:       q.sql(liteDeleteValues),
		recount:            q.sql(liteRecount),
		move:               q.sql(liteMove),
		taken:              q.sql(liteTaken),
		moveValues:         q.sql(liteMoveValues),
		remove:             q.sql(liteRemove),
		claim:              q.sql(liteClaim),
		claimValues:        q.sql(liteClaimValues),
		reap:               q.sql(liteReap),
		reapValues:         q.sql(liteReapValues),
		reserveCount:       q.sql(liteReserveCount),
		reservePurge:       q.sql(liteReservePurge),
		reserve:            q.sql(liteReserve),
		publish:            q.sql(litePublish),
		publishEvent:       q.sql(litePublishEvent),
		addCounts:          q.sql(liteAddCounts),
		sweepSessions:      q.sql(liteSweepSessions),
		sweepReservations:  q.sql(liteSweepReservations),
		sweepEvents:        q.sql(liteSweepEvents),
	}}
}

const (
	liteCreate = `/* sqlstore: create */
INSERT INTO {T} (app, id, created, access, expires, nkeys, usr, label)
VALUES ($1, $2, $3, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING`

	// liteSetValues sets keys from a JSON array of [key, value] pairs in
	// hex. (WHERE true tells SQLite's parser that ON CONFLICT belongs to
	// the INSERT, not to a join.)
	liteSetValues = `/* sqlstore: set values */
INSERT INTO {V} (app, id, key, value)
SELECT $1, $2, unhex(e.value ->> 0), unhex(e.value ->> 1) FROM json_each($3) e WHERE true
ON CONFLICT (app, id, key) DO UPDATE SET value = excluded.value`

	// liteCountNew counts a new session toward the limit unless Reserve
	// counted it already; liteConsumeReservation then lets the session
	// count in the reservation's place.
	liteCountNew = `/* sqlstore: count */
UPDATE {C} SET n = n + 1
WHERE app = $1 AND shard = $3 AND NOT EXISTS (SELECT 1 FROM {R} WHERE app = $1 AND id = $2)`

	liteConsumeReservation = `/* sqlstore: consume reservation */
DELETE FROM {R} WHERE app = $1 AND id = $2`

	liteClearValues = `/* sqlstore: clear values */
DELETE FROM {V} WHERE app = $1 AND id = $2`

	liteDeleteValues = `/* sqlstore: delete values */
DELETE FROM {V} WHERE app = $1 AND id = $2 AND key IN (SELECT unhex(value) FROM json_each($3))`

	liteRecount = `/* sqlstore: recount */
UPDATE {T} SET nkeys = (SELECT count(*) FROM {V} WHERE app = $1 AND id = $2)
WHERE app = $1 AND id = $2
RETURNING nkeys`

	liteMove = `/* sqlstore: move */
UPDATE {T} SET id = $3, access = $4, expires = $5,
	usr = CASE WHEN $6 THEN $7 ELSE usr END,
	label = CASE WHEN $8 THEN $9 ELSE label END
WHERE app = $1 AND id = $2 AND expires > $4
AND NOT EXISTS (SELECT 1 FROM {T} WHERE app = $1 AND id = $3)`

	liteTaken = `/* sqlstore: taken */
SELECT EXISTS (SELECT 1 FROM {T} WHERE app = $1 AND id = $2)`

	liteMoveValues = `/* sqlstore: move values */
UPDATE {V} SET id = $3 WHERE app = $1 AND id = $2`

	liteRemove = `/* sqlstore: delete */
DELETE FROM {T} WHERE app = $1 AND id = $2 AND expires > $3
RETURNING usr, label, created, access, expires`

	liteClaim = `/* sqlstore: claim */
UPDATE {T} SET lease = $4 WHERE app = $1 AND id IN (
	SELECT id FROM {T} WHERE app = $1 AND expires <= $2 AND lease <= $2
	ORDER BY expires LIMIT $3)
RETURNING id, usr, label, created, access, expires`

	liteClaimValues = `/* sqlstore: claim values */
SELECT id, key, value FROM {V} WHERE app = $1 AND id IN (SELECT value FROM json_each($2))`

	liteReap = `/* sqlstore: reap */
DELETE FROM {T} WHERE app = $1 AND id IN (SELECT value FROM json_each($2)) AND expires <= $3
RETURNING id`

	liteReapValues = `/* sqlstore: reap values */
DELETE FROM {V} WHERE app = $1 AND id IN (SELECT value FROM json_each($2))`

	liteReserveCount = `/* sqlstore: reserve count */
SELECT coalesce(sum(n), 0) FROM {C} WHERE app = $1`

	liteReservePurge = `/* sqlstore: reserve purge */
DELETE FROM {R} WHERE app = $1 AND id IN (
	SELECT id FROM {R} WHERE app = $1 AND until <= $2 LIMIT $3)
RETURNING id`

	liteReserve = `/* sqlstore: reserve */
INSERT INTO {R} (app, id, until) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`

	litePublish = `/* sqlstore: publish */
UPDATE {A} SET last_event = last_event + 1 WHERE app = $1 RETURNING last_event`

	litePublishEvent = `/* sqlstore: publish event */
INSERT INTO {E} (app, seq, at, kind, id, usr, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`

	// liteAddCounts adds to counts from a JSON array of [shard, n] pairs.
	liteAddCounts = `/* sqlstore: count */
UPDATE {C} SET n = n + (e.value ->> 1) FROM json_each($2) e
WHERE {C}.app = $1 AND {C}.shard = e.value ->> 0`

	liteSweepSessions = `/* sqlstore: sweep */
DELETE FROM {T} WHERE app = $1 AND id IN (
	SELECT id FROM {T} WHERE app = $1 AND expires <= $2
	ORDER BY expires LIMIT $3)
RETURNING id`

	liteSweepReservations = `/* sqlstore: sweep reservations */
DELETE FROM {R} WHERE app = $1 AND id IN (
	SELECT id FROM {R} WHERE app = $1 AND until <= $2 LIMIT $3)
RETURNING id`

	liteSweepEvents = `/* sqlstore: sweep events */
DELETE FROM {E} WHERE app = $1 AND seq IN (
	SELECT seq FROM {E} WHERE app = $1 AND at <= $2 ORDER BY seq LIMIT $3)`
)

// tx runs fn in a transaction begun with BEGIN IMMEDIATE on a connection of
// its own, committed when fn returns nil and rolled back otherwise. The
// driver does not know of the transaction (database/sql's BeginTx would
// begin a deferred one unless the DSN says otherwise), so a connection
// whose transaction cannot be seen to end is discarded rather than returned
// to the pool.
func (l *sqlite) tx(ctx context.Context, fn func(q querier) error) (err error) {
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

// write runs one statement that writes, in SQLite's own transaction, once
// this process's other writers are done: it then seldom waits for the lock,
// and never polls for it (the busy handler sleeps between tries).
func (l *sqlite) write(ctx context.Context, query string, args ...any) (sql.Result, error) {
	select {
	case l.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.writer }()
	return l.db.ExecContext(ctx, query, args...)
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
	return l.tx(ctx, func(q querier) error { return migrate(ctx, q, l.q, steps, SQLite, l.app) })
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
		res, err := q.ExecContext(ctx, l.sql.create, l.app, id, now, exp, c.nset, c.user.value, c.label.value)
		if err != nil {
			return err
		}
		if ok, err := affected(res); err != nil || !ok {
			return orElse(err, store.ErrExists)
		}
		if c.nset > 0 {
			if _, err := q.ExecContext(ctx, l.sql.setValues, l.app, id, c.set); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, l.sql.countNew, l.app, id, shardOf(id)); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, l.sql.consumeReservation, l.app, id)
		return err
	})
}

func (l *sqlite) update(ctx context.Context, id string, c *change, now, exp int64, maxKeys int) (bool, error) {
	err := l.tx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, l.sql.guard, l.app, id, now, exp,
			c.user.change, c.user.value, c.label.change, c.label.value)
		if err != nil {
			return err
		}
		if ok, err := affected(res); err != nil || !ok {
			return orElse(err, errNotFound)
		}
		return l.apply(ctx, q, id, c, maxKeys)
	})
	return found(err)
}

// apply applies c to the values of session id, whose row the transaction
// has written, and refuses a result of more than maxKeys values. nkeys is
// kept exact: counting is cheap in process.
func (l *sqlite) apply(ctx context.Context, q querier, id string, c *change, maxKeys int) error {
	if c.empty() && maxKeys <= 0 {
		return nil
	}
	switch {
	case c.clear:
		if _, err := q.ExecContext(ctx, l.sql.clearValues, l.app, id); err != nil {
			return err
		}
	case c.ndel > 0:
		if _, err := q.ExecContext(ctx, l.sql.deleteValues, l.app, id, c.del); err != nil {
			return err
		}
	}
	if c.nset > 0 {
		if _, err := q.ExecContext(ctx, l.sql.setValues, l.app, id, c.set); err != nil {
			return err
		}
	}
	var n int
	if err := q.QueryRowContext(ctx, l.sql.recount, l.app, id).Scan(&n); err != nil {
		return err
	}
	if maxKeys > 0 && n > maxKeys {
		return store.ErrTooManyKeys
	}
	return nil
}

func (l *sqlite) move(ctx context.Context, from, to string, c *change, now, exp int64, maxKeys int) (bool, error) {
	err := l.tx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, l.sql.move, l.app, from, to, now, exp,
			c.user.change, c.user.value, c.label.change, c.label.value)
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
		res, err = q.ExecContext(ctx, l.sql.consumeReservation, l.app, to)
		if err != nil {
			return err
		}
		reserved, err := affected(res)
		if err != nil {
			return err
		}
		counts := map[int]int64{shardOf(from): -1}
		if !reserved {
			counts[shardOf(to)]++
		}
		if err := l.addCounts(ctx, q, counts); err != nil {
			return err
		}
		return l.apply(ctx, q, to, c, maxKeys)
	})
	return found(err)
}

func (l *sqlite) remove(ctx context.Context, id string, now int64) (info store.Info, ok bool, err error) {
	err = l.tx(ctx, func(q querier) error {
		var user, label []byte
		var created, access, expires int64
		err := q.QueryRowContext(ctx, l.sql.remove, l.app, id, now).Scan(&user, &label, &created, &access, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		info.ID = id
		fillInfo(&info, user, label, created, access, expires)
		if _, err := q.ExecContext(ctx, l.sql.clearValues, l.app, id); err != nil {
			return err
		}
		return l.addCounts(ctx, q, map[int]int64{shardOf(id): -1})
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
		return l.deleteSessions(ctx, q, l.sql.reap, idList(old), now)
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

func (l *sqlite) reap(ctx context.Context, ids []string, now int64) error {
	return l.tx(ctx, func(q querier) error {
		return l.deleteSessions(ctx, q, l.sql.reap, idList(ids), now)
	})
}

// deleteSessions runs a statement that deletes expired sessions and returns
// their IDs, then deletes their values and stops counting them.
func (l *sqlite) deleteSessions(ctx context.Context, q querier, query string, args ...any) error {
	ids, err := readIDs(q.QueryContext(ctx, query, append([]any{l.app}, args...)...))
	if err != nil || len(ids) == 0 {
		return err
	}
	if _, err := q.ExecContext(ctx, l.sql.reapValues, l.app, idList(ids)); err != nil {
		return err
	}
	counts := make(map[int]int64)
	for _, id := range ids {
		counts[shardOf(id)]--
	}
	return l.addCounts(ctx, q, counts)
}

// addCounts adds to the counts of shards, in one statement.
func (l *sqlite) addCounts(ctx context.Context, q querier, counts map[int]int64) error {
	for shard, n := range counts {
		if n == 0 {
			delete(counts, shard)
		}
	}
	if len(counts) == 0 {
		return nil
	}
	_, err := q.ExecContext(ctx, l.sql.addCounts, l.app, shardCounts(slices.Sorted(maps.Keys(counts)), counts))
	return err
}

func (l *sqlite) reserve(ctx context.Context, id string, max int, now, until int64) (ok bool, err error) {
	err = l.tx(ctx, func(q querier) error {
		if max > 0 {
			var total int64
			if err := q.QueryRowContext(ctx, l.sql.reserveCount, l.app).Scan(&total); err != nil {
				return err
			}
			if total >= int64(max) {
				ids, err := readIDs(q.QueryContext(ctx, l.sql.reservePurge, l.app, now, purgeBatch))
				if err != nil {
					return err
				}
				counts := make(map[int]int64)
				for _, id := range ids {
					counts[shardOf(id)]--
				}
				if err := l.addCounts(ctx, q, counts); err != nil {
					return err
				}
				if total-int64(len(ids)) >= int64(max) {
					return nil // commits the purge
				}
			}
		}
		ok = true
		res, err := q.ExecContext(ctx, l.sql.reserve, l.app, id, until)
		if err != nil {
			return err
		}
		if added, err := affected(res); err != nil || !added {
			return err
		}
		return l.addCounts(ctx, q, map[int]int64{shardOf(id): 1})
	})
	return ok && err == nil, err
}

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
			if err != nil {
				return err
			}
			removed = len(ids)
			counts := make(map[int]int64)
			for _, id := range ids {
				counts[shardOf(id)]--
			}
			return l.addCounts(ctx, q, counts)
		default:
			ids, err := readIDs(q.QueryContext(ctx, l.sql.sweepSessions, l.app, cut, n))
			if err != nil || len(ids) == 0 {
				return err
			}
			removed = len(ids)
			if _, err := q.ExecContext(ctx, l.sql.reapValues, l.app, idList(ids)); err != nil {
				return err
			}
			counts := make(map[int]int64)
			for _, id := range ids {
				counts[shardOf(id)]--
			}
			return l.addCounts(ctx, q, counts)
		}
	})
	return removed, err
}
