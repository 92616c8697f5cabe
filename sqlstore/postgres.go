package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/seed58a3dad2/session/store"
)

// postgres runs a Store's operations on PostgreSQL. Each statement runs
// under READ COMMITTED, where a statement sees what was committed when it
// began, and an UPDATE or DELETE that waited for a row lock acts on the row
// as the other transaction left it. The rules that keep the store correct
// and free of deadlocks follow from that:
//
//   - Every write to a session's values first locks the session's row
//     (UPDATE guarded by expires > now), so writers of one session take
//     turns, and one that finds the row gone or expired writes nothing.
//   - A statement that must see the values as the previous writer left them
//     (one that deletes or counts them) comes after the statement that
//     locked the row, in the same transaction. A change that only sets keys
//     does not need that (INSERT ... ON CONFLICT acts on the latest row), so
//     it takes one statement (see update).
//   - Locks are taken in one order: session rows, then reservation rows,
//     then the rows of <Table>_counts in ascending shard order. Background
//     work (sweeps, claims, reservation purges) skips rows another
//     transaction holds (FOR UPDATE SKIP LOCKED) instead of waiting, so
//     servers sweeping at once never do the same rows.
type postgres struct {
	db  *sql.DB
	q   *queries
	app string
	sql pgStatements
}

// pgStatements are the statements of the postgres engine, with table names.
type pgStatements struct {
	loadTouch, create, update, guard, apply, move, remove, claim, forget,
	reap, reserveLock, reservePurge, reserve, publish, lockShards, addShard, addShards,
	sweepSessions, sweepReservations, sweepEvents string
}

func newPostgres(db *sql.DB, q *queries, app string) *postgres {
	return &postgres{db: db, q: q, app: app, sql: pgStatements{
		loadTouch:         q.sql(pgLoadTouch),
		create:            q.sql(pgCreate),
		update:            q.sql(pgUpdate),
		guard:             q.sql(pgGuard),
		apply:             q.sql(pgApply),
		move:              q.sql(pgMove),
		remove:            q.sql(pgRemove),
		claim:             q.sql(pgClaim),
		forget:            q.sql(pgForget),
		reap:              q.sql(pgReap),
		reserveLock:       q.sql(pgReserveLock),
		reservePurge:      q.sql(pgReservePurge),
		reserve:           q.sql(pgReserve),
		publish:           q.sql(pgPublish),
		lockShards:        q.sql(pgLockShards),
		addShard:          q.sql(pgAddShard),
		addShards:         q.sql(pgAddShards),
		sweepSessions:     q.sql(pgSweepSessions),
		sweepReservations: q.sql(pgSweepReservations),
		sweepEvents:       q.sql(pgSweepEvents),
	}}
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx runs fn in a READ COMMITTED transaction, committed when fn returns nil
// and rolled back otherwise. Stating the level keeps a server whose default
// is stricter from failing transactions that READ COMMITTED makes safe.
func (p *postgres) tx(ctx context.Context, fn func(q querier) error) error {
	tx, err := p.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// The JSON of a change is a text parameter cast to json in the statement
// ($n::text::json), so that any driver sends it as it sends a string.
const (
	pgLoadTouch = `/* sqlstore: load and touch */
WITH s AS (
	UPDATE {T} SET access = $3, expires = $4
	WHERE app = $1 AND id = $2 AND expires > $3
	RETURNING app, id)
SELECT v.id IS NOT NULL, v.key, v.value
FROM s LEFT JOIN {V} v ON v.app = s.app AND v.id = s.id`

	// pgCreate inserts the session unless its ID is taken, its values, and
	// counts it toward the limit unless Reserve counted it already (then
	// the reservation goes: the session counts in its place).
	pgCreate = `/* sqlstore: create */
WITH s AS (
	INSERT INTO {T} (app, id, created, access, expires, nkeys, usr, label)
	VALUES ($1, $2, $3, $3, $4, $5, $6, $7)
	ON CONFLICT DO NOTHING
	RETURNING id),
v AS (
	INSERT INTO {V} (app, id, key, value)
	SELECT $1, s.id, decode(e->>0, 'hex'), decode(e->>1, 'hex')
	FROM s, json_array_elements($8::text::json) e),
r AS (
	DELETE FROM {R} WHERE app = $1 AND id = $2 AND EXISTS (SELECT 1 FROM s)
	RETURNING 1),
c AS (
	UPDATE {C} SET n = n + 1
	WHERE app = $1 AND shard = $9 AND EXISTS (SELECT 1 FROM s) AND NOT EXISTS (SELECT 1 FROM r))
SELECT count(*) FROM s`

	// pgUpdate applies a change that only sets keys, in one statement: the
	// UPDATE locks the session's row (and finds it as the last writer left
	// it), the INSERT ... ON CONFLICT acts on the latest version of each
	// key. nkeys, an upper bound of the number of values, grows by every key
	// set, and the statement refuses (s is empty) when that bound would pass
	// maxKeys ($10, 0 for none): the transaction of guard and apply then
	// counts exactly. cur tells a session that is not live from one that
	// was refused.
	pgUpdate = `/* sqlstore: update */
WITH cur AS (
	SELECT 1 FROM {T} WHERE app = $1 AND id = $2 AND expires > $3),
s AS (
	UPDATE {T} SET access = $3, expires = $4, nkeys = nkeys + $5,
		usr = CASE WHEN $6 THEN $7 ELSE usr END,
		label = CASE WHEN $8 THEN $9 ELSE label END
	WHERE app = $1 AND id = $2 AND expires > $3 AND ($10 = 0 OR nkeys + $5 <= $10)
	RETURNING id),
v AS (
	INSERT INTO {V} (app, id, key, value)
	SELECT $1, s.id, decode(e->>0, 'hex'), decode(e->>1, 'hex')
	FROM s, json_array_elements($11::text::json) e
	ON CONFLICT (app, id, key) DO UPDATE SET value = excluded.value)
SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM cur)`

	// pgGuard locks a live session's row and sets its expiry and metadata,
	// first in a transaction that changes its values.
	pgGuard = `/* sqlstore: guard */
UPDATE {T} SET access = $3, expires = $4,
	usr = CASE WHEN $5 THEN $6 ELSE usr END,
	label = CASE WHEN $7 THEN $8 ELSE label END
WHERE app = $1 AND id = $2 AND expires > $3`

	// pgApply applies a change to the values of a session whose row the
	// transaction has locked, and returns how many values it then holds,
	// which it also records in nkeys. It runs after the lock, so it sees
	// the values as the last writer left them; its parts see them as they
	// were when it began, so the keys it deletes and those it sets are
	// kept apart (newChange and the clear condition), and the count is
	// worked out from what was there rather than read after the change.
	pgApply = `/* sqlstore: apply */
WITH sk AS (
	SELECT decode(e->>0, 'hex') AS key, decode(e->>1, 'hex') AS value
	FROM json_array_elements($4::text::json) e),
dk AS (
	SELECT decode(x, 'hex') AS key FROM json_array_elements_text($5::text::json) x),
d AS (
	DELETE FROM {V} WHERE app = $1 AND id = $2
	AND (key IN (SELECT key FROM dk) OR ($3 AND key NOT IN (SELECT key FROM sk)))),
v AS (
	INSERT INTO {V} (app, id, key, value) SELECT $1, $2, key, value FROM sk
	ON CONFLICT (app, id, key) DO UPDATE SET value = excluded.value),
n AS (
	SELECT (SELECT count(*) FROM sk) + CASE WHEN $3 THEN 0 ELSE (
		SELECT count(*) FROM {V} WHERE app = $1 AND id = $2
		AND key NOT IN (SELECT key FROM dk) AND key NOT IN (SELECT key FROM sk)) END AS n),
u AS (
	UPDATE {T} SET nkeys = (SELECT n FROM n) WHERE app = $1 AND id = $2)
SELECT n FROM n`

	// pgMove renames a live session unless the new ID is taken; the
	// foreign key's ON UPDATE CASCADE renames its values with it. A
	// reservation of the new ID is consumed; within one shard ($10) the
	// count then drops by one, since the session moved away from is no
	// longer counted.
	pgMove = `/* sqlstore: move */
WITH t AS (
	SELECT 1 FROM {T} WHERE app = $1 AND id = $3),
m AS (
	UPDATE {T} SET id = $3, access = $4, expires = $5,
		usr = CASE WHEN $6 THEN $7 ELSE usr END,
		label = CASE WHEN $8 THEN $9 ELSE label END
	WHERE app = $1 AND id = $2 AND expires > $4 AND NOT EXISTS (SELECT 1 FROM t)
	RETURNING nkeys),
r AS (
	DELETE FROM {R} WHERE app = $1 AND id = $3 AND EXISTS (SELECT 1 FROM m)
	RETURNING 1),
c AS (
	UPDATE {C} SET n = n - 1
	WHERE app = $1 AND shard = $10 AND $11 AND EXISTS (SELECT 1 FROM r))
SELECT EXISTS (SELECT 1 FROM t), EXISTS (SELECT 1 FROM m),
	coalesce((SELECT nkeys FROM m), 0), EXISTS (SELECT 1 FROM r)`

	// pgRemove deletes a live session (its values go with it: ON DELETE
	// CASCADE) and stops counting it.
	pgRemove = `/* sqlstore: delete */
WITH d AS (
	DELETE FROM {T} WHERE app = $1 AND id = $2 AND expires > $3
	RETURNING usr, label, created, access, expires),
c AS (
	UPDATE {C} SET n = n - 1 WHERE app = $1 AND shard = $4 AND EXISTS (SELECT 1 FROM d))
SELECT usr, label, created, access, expires FROM d`

	// pgClaim leases up to $3 expired sessions that no unexpired lease
	// holds, oldest first, skipping rows another claimer is leasing at
	// the same moment, and returns them with their values, except those
	// past retention ($5), returned without.
	pgClaim = `/* sqlstore: claim */
WITH c AS (
	SELECT id FROM {T}
	WHERE app = $1 AND expires <= $2 AND lease <= $2
	ORDER BY expires LIMIT $3
	FOR UPDATE SKIP LOCKED),
s AS (
	UPDATE {T} t SET lease = $4 FROM c
	WHERE t.app = $1 AND t.id = c.id
	RETURNING t.id, t.usr, t.label, t.created, t.access, t.expires)
SELECT s.id, s.usr, s.label, s.created, s.access, s.expires, v.id IS NOT NULL, v.key, v.value
FROM s LEFT JOIN {V} v ON v.app = $1 AND v.id = s.id AND s.expires > $5
ORDER BY s.expires, s.id`

	// pgForget deletes the sessions past retention that a claim returned.
	pgForget = `/* sqlstore: forget */
DELETE FROM {T}
WHERE app = $1 AND id IN (SELECT json_array_elements_text($2::text::json)) AND expires <= $3
RETURNING id`

	pgReap = `/* sqlstore: reap */
DELETE FROM {T}
WHERE app = $1 AND id IN (SELECT json_array_elements_text($2::text::json)) AND expires <= $3
RETURNING id`

	// pgReserveLock locks every count of the application, in shard order,
	// and returns their sum: the sessions and reservations counted.
	pgReserveLock = `/* sqlstore: reserve lock */
SELECT coalesce(sum(n), 0) FROM (
	SELECT n FROM {C} WHERE app = $1 ORDER BY shard FOR UPDATE) l`

	pgReservePurge = `/* sqlstore: reserve purge */
DELETE FROM {R} WHERE app = $1 AND id IN (
	SELECT id FROM {R} WHERE app = $1 AND until <= $2
	LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id`

	pgReserve = `/* sqlstore: reserve */
WITH r AS (
	INSERT INTO {R} (app, id, until) VALUES ($1, $2, $3)
	ON CONFLICT DO NOTHING
	RETURNING 1)
UPDATE {C} SET n = n + 1 WHERE app = $1 AND shard = $4 AND EXISTS (SELECT 1 FROM r)`

	// pgPublish numbers an event with the application's next sequence
	// number. The UPDATE holds the application's row until the event is
	// committed, so events become visible in the order of their numbers:
	// a subscriber that has seen number n has seen every number below.
	pgPublish = `/* sqlstore: publish */
WITH a AS (
	UPDATE {A} SET last_event = last_event + 1 WHERE app = $1
	RETURNING last_event)
INSERT INTO {E} (app, seq, at, kind, id, usr, reason)
SELECT $1, last_event, $2, $3, $4, $5, $6 FROM a`

	pgLockShards = `/* sqlstore: lock counts */
SELECT shard FROM {C}
WHERE app = $1 AND shard IN (SELECT json_array_elements_text($2::text::json)::smallint)
ORDER BY shard FOR UPDATE`

	pgAddShard = `/* sqlstore: count */
UPDATE {C} SET n = n + $3 WHERE app = $1 AND shard = $2`

	pgAddShards = `/* sqlstore: count */
UPDATE {C} SET n = n + (e->>1)::bigint
FROM json_array_elements($2::text::json) e
WHERE app = $1 AND shard = (e->>0)::smallint`

	pgSweepSessions = `/* sqlstore: sweep */
DELETE FROM {T} WHERE app = $1 AND id IN (
	SELECT id FROM {T} WHERE app = $1 AND expires <= $2
	ORDER BY expires LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id`

	pgSweepReservations = `/* sqlstore: sweep reservations */
DELETE FROM {R} WHERE app = $1 AND id IN (
	SELECT id FROM {R} WHERE app = $1 AND until <= $2
	LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id`

	pgSweepEvents = `/* sqlstore: sweep events */
DELETE FROM {E} WHERE app = $1 AND seq IN (
	SELECT seq FROM {E} WHERE app = $1 AND at <= $2
	ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)`
)

// pgSchemaLock serializes the servers that create or upgrade the tables of
// one name in one schema, until the transaction ends.
const pgSchemaLock = `/* sqlstore: schema lock */
SELECT pg_advisory_xact_lock(1936813171, hashtext(coalesce(current_schema(), '') || '.' || $1))`

func (p *postgres) setup(ctx context.Context, steps []migration) error {
	return p.tx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, pgSchemaLock, p.q.table); err != nil {
			return fmt.Errorf("take the schema lock: %w", err)
		}
		return migrate(ctx, q, p.q, steps, Postgres, p.app)
	})
}

func (p *postgres) loadTouch(ctx context.Context, id string, now, exp int64) (map[string][]byte, bool, error) {
	return readValues(p.db.QueryContext(ctx, p.sql.loadTouch, p.app, id, now, exp))
}

func (p *postgres) create(ctx context.Context, id string, c *change, now, exp int64) error {
	var n int
	err := p.db.QueryRowContext(ctx, p.sql.create, p.app, id, now, exp, c.nset,
		c.user.value, c.label.value, c.set, shardOf(id)).Scan(&n)
	if err != nil {
		if uniqueViolation(err) { // a session being created under id at this very moment
			return store.ErrExists
		}
		return err
	}
	if n == 0 {
		return store.ErrExists
	}
	return nil
}

// update applies a change that only sets keys in one statement when the
// session's bound on its number of values allows it, and otherwise, or for
// a change that deletes keys, in a transaction of two: guard, then apply.
func (p *postgres) update(ctx context.Context, id string, c *change, now, exp int64, maxKeys int) (bool, error) {
	if c.setOnly() {
		var updated, live int
		err := p.db.QueryRowContext(ctx, p.sql.update, p.app, id, now, exp, c.nset,
			c.user.change, c.user.value, c.label.change, c.label.value, max(maxKeys, 0), c.set).Scan(&updated, &live)
		switch {
		case err != nil:
			return false, err
		case updated == 1:
			return true, nil
		case live == 0:
			return false, nil
		}
		// Over the bound, or changed by another writer meanwhile: count.
	}
	err := p.tx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, p.sql.guard, p.app, id, now, exp,
			c.user.change, c.user.value, c.label.change, c.label.value)
		if err != nil {
			return err
		}
		if ok, err := affected(res); err != nil || !ok {
			return orElse(err, errNotFound)
		}
		return p.apply(ctx, q, id, c, maxKeys)
	})
	return found(err)
}

// apply runs pgApply and refuses a result of more than maxKeys values.
func (p *postgres) apply(ctx context.Context, q querier, id string, c *change, maxKeys int) error {
	var n int
	if err := q.QueryRowContext(ctx, p.sql.apply, p.app, id, c.clear, c.set, c.del).Scan(&n); err != nil {
		return err
	}
	if maxKeys > 0 && n > maxKeys {
		return store.ErrTooManyKeys
	}
	return nil
}

// move renames the session, then applies the change and counts its values
// (a separate statement: the values are renamed by the foreign key's
// cascade, which the change must see), in one transaction.
func (p *postgres) move(ctx context.Context, from, to string, c *change, now, exp int64, maxKeys int) (bool, error) {
	sameShard := shardOf(from) == shardOf(to)
	err := p.tx(ctx, func(q querier) error {
		var taken, moved, reserved bool
		var nkeys int
		err := q.QueryRowContext(ctx, p.sql.move, p.app, from, to, now, exp,
			c.user.change, c.user.value, c.label.change, c.label.value, shardOf(from), sameShard).
			Scan(&taken, &moved, &nkeys, &reserved)
		switch {
		case uniqueViolation(err): // to is being created at this very moment
			return store.ErrExists
		case err != nil:
			return err
		case taken:
			return store.ErrExists
		case !moved:
			return errNotFound
		}
		if !sameShard {
			counts := map[int]int64{shardOf(from): -1}
			if !reserved {
				counts[shardOf(to)]++
			}
			if err := p.addCounts(ctx, q, counts); err != nil {
				return err
			}
		}
		if c.empty() && (maxKeys <= 0 || nkeys <= maxKeys) {
			return nil
		}
		return p.apply(ctx, q, to, c, maxKeys)
	})
	return found(err)
}

func (p *postgres) touch(ctx context.Context, id string, now, exp int64) (bool, error) {
	res, err := p.db.ExecContext(ctx, p.q.touch, p.app, id, now, exp)
	if err != nil {
		return false, err
	}
	return affected(res)
}

func (p *postgres) remove(ctx context.Context, id string, now int64) (store.Info, bool, error) {
	info := store.Info{ID: id}
	var user, label []byte
	var created, access, expires int64
	err := p.db.QueryRowContext(ctx, p.sql.remove, p.app, id, now, shardOf(id)).
		Scan(&user, &label, &created, &access, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Info{}, false, nil
	}
	if err != nil {
		return store.Info{}, false, err
	}
	fillInfo(&info, user, label, created, access, expires)
	return info, true, nil
}

// claim leases expired sessions and, in the same transaction, forgets those
// past retention, which it returns without values: a claimer that dies
// after the commit has seen each of them once, as the contract promises,
// and one that dies before leaves them to the next claim.
func (p *postgres) claim(ctx context.Context, now, until, cut int64, limit int) ([]store.Record, error) {
	var recs []store.Record
	err := p.tx(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, p.sql.claim, p.app, now, limit, until, cut)
		if recs, err = readRecords(rows, err, cut); err != nil {
			return err
		}
		var old []string
		for _, r := range recs {
			if r.Values == nil {
				old = append(old, r.ID)
			}
		}
		if len(old) == 0 {
			return nil
		}
		return p.deleteCounted(ctx, q, p.sql.forget, p.app, idList(old), now)
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

func (p *postgres) reap(ctx context.Context, ids []string, now int64) error {
	return p.tx(ctx, func(q querier) error {
		return p.deleteCounted(ctx, q, p.sql.reap, p.app, idList(ids), now)
	})
}

// deleteCounted runs a statement that deletes sessions or reservations and
// returns their IDs, then stops counting them.
func (p *postgres) deleteCounted(ctx context.Context, q querier, query string, args ...any) error {
	ids, err := readIDs(q.QueryContext(ctx, query, args...))
	if err != nil {
		return err
	}
	counts := make(map[int]int64)
	for _, id := range ids {
		counts[shardOf(id)]--
	}
	return p.addCounts(ctx, q, counts)
}

// addCounts adds to the counts of shards. Several rows are locked in shard
// order first, the order every transaction takes them in, so that two
// transactions never wait for each other's rows.
func (p *postgres) addCounts(ctx context.Context, q querier, counts map[int]int64) error {
	for shard, n := range counts {
		if n == 0 {
			delete(counts, shard)
		}
	}
	switch len(counts) {
	case 0:
		return nil
	case 1:
		for shard, n := range counts {
			_, err := q.ExecContext(ctx, p.sql.addShard, p.app, shard, n)
			return err
		}
	}
	order := slices.Sorted(maps.Keys(counts))
	if _, err := q.ExecContext(ctx, p.sql.lockShards, p.app, intList(order)); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, p.sql.addShards, p.app, shardCounts(order, counts))
	return err
}

func (p *postgres) reserve(ctx context.Context, id string, max int, now, until int64) (bool, error) {
	if max <= 0 {
		_, err := p.db.ExecContext(ctx, p.sql.reserve, p.app, id, until, shardOf(id))
		return err == nil, err
	}
	ok := false
	err := p.tx(ctx, func(q querier) error {
		var total int64
		if err := q.QueryRowContext(ctx, p.sql.reserveLock, p.app).Scan(&total); err != nil {
			return err
		}
		if total >= int64(max) {
			// Reservations whose session never came make room first. The
			// counts are all locked already: no order to keep.
			ids, err := readIDs(q.QueryContext(ctx, p.sql.reservePurge, p.app, now, purgeBatch))
			if err != nil {
				return err
			}
			counts := make(map[int]int64)
			for _, id := range ids {
				counts[shardOf(id)]--
			}
			if err := p.addCounts(ctx, q, counts); err != nil {
				return err
			}
			if total -= int64(len(ids)); total >= int64(max) {
				return nil // commits the purge
			}
		}
		ok = true
		_, err := q.ExecContext(ctx, p.sql.reserve, p.app, id, until, shardOf(id))
		return err
	})
	return ok && err == nil, err
}

func (p *postgres) publish(ctx context.Context, e store.Event, now int64) error {
	res, err := p.db.ExecContext(ctx, p.sql.publish, p.app, now, int(e.Kind), e.ID, nilIfEmpty(e.User), e.Reason)
	if err != nil {
		return err
	}
	if ok, err := affected(res); err != nil || !ok {
		return orElse(err, errNoApp)
	}
	return nil
}

func (p *postgres) sweep(ctx context.Context, what sweepTarget, now, cut int64, n int) (int, error) {
	if what == sweepEvents {
		res, err := p.db.ExecContext(ctx, p.sql.sweepEvents, p.app, cut, n)
		if err != nil {
			return 0, err
		}
		removed, err := res.RowsAffected()
		return int(removed), err
	}
	query := p.sql.sweepSessions
	if what == sweepReservations {
		query = p.sql.sweepReservations
	}
	var removed int
	err := p.tx(ctx, func(q querier) error {
		ids, err := readIDs(q.QueryContext(ctx, query, p.app, cut, n))
		if err != nil {
			return err
		}
		removed = len(ids)
		counts := make(map[int]int64)
		for _, id := range ids {
			counts[shardOf(id)]--
		}
		return p.addCounts(ctx, q, counts)
	})
	return removed, err
}

// uniqueViolation reports whether err is PostgreSQL's unique_violation
// (SQLSTATE 23505), as drivers that expose SQLSTATE report it (pgx's
// *pgconn.PgError and lib/pq's *pq.Error do).
func uniqueViolation(err error) bool {
	var state interface{ SQLState() string }
	return errors.As(err, &state) && state.SQLState() == "23505"
}

// found turns the result of a transaction that ends with errNotFound when
// the session is not live into found and an error.
func found(err error) (bool, error) {
	if errors.Is(err, errNotFound) {
		return false, nil
	}
	return err == nil, err
}

// orElse returns err, or def when err is nil.
func orElse(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// intList returns ns as a JSON array.
func intList(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// shardCounts returns counts as a JSON array of [shard, n] pairs in shard
// order.
func shardCounts(order []int, counts map[int]int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, shard := range order {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d]", shard, counts[shard])
	}
	b.WriteByte(']')
	return b.String()
}
