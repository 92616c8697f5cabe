package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
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
//     it takes one statement (see update). Deleting a session's values is
//     the foreign key's cascade, which sees the latest rows too.
//   - A transaction locks at most one row of <Table>_counts, except Reserve,
//     which locks them all in shard order: no two transactions wait for
//     each other's counts. Work nobody waits for (sweeps, claims, purges of
//     reservations) skips rows another transaction holds (FOR UPDATE SKIP
//     LOCKED) instead of waiting, so servers doing it at once never do the
//     same rows.
type postgres struct {
	db  *sql.DB
	q   *queries
	app string
	sql pgStatements
}

// pgStatements are the statements of the postgres engine, with table names.
type pgStatements struct {
	loadTouch, create, update, add, guard, apply, readValues, move, remove, claim, reap,
	reserveLock, reserved, reservePurge, reserve, publish, addCount,
	sweepSessions, sweepReservations, sweepEvents string
}

func newPostgres(db *sql.DB, q *queries, app string) *postgres {
	return &postgres{db: db, q: q, app: app, sql: pgStatements{
		loadTouch:         q.sql(pgLoadTouch),
		create:            q.sql(pgCreate),
		update:            q.sql(pgUpdate),
		add:               q.sql(pgAdd),
		guard:             q.sql(pgGuard),
		apply:             q.sql(pgApply),
		readValues:        q.sql(pgReadValues),
		move:              q.sql(pgMove),
		remove:            q.sql(pgRemove),
		claim:             q.sql(pgClaim),
		reap:              q.sql(pgReap),
		reserveLock:       q.sql(pgReserveLock),
		reserved:          q.sql(pgReserved),
		reservePurge:      q.sql(pgPurgeReservations),
		reserve:           q.sql(pgReserve),
		publish:           q.sql(pgPublish),
		addCount:          q.sql(pgAddCount),
		sweepSessions:     q.sql(pgSweepSessions),
		sweepReservations: q.sql(pgPurgeReservations),
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
//
// A session counts toward Reserve's limit (counted) when it was stored
// under a reservation, which it then replaces; <Table>_counts holds, in 64
// rows per application whose sum is what counts, the reservations and the
// counted sessions. A statement that deletes counted sessions subtracts
// them from one row, chosen by the caller ($4 and the like).
const (
	pgLoadTouch = `/* sqlstore: load and touch */
WITH s AS (
	UPDATE {T} SET access = $3, expires = $4
	WHERE app = $1 AND id = $2 AND expires > $3 AND lease = 0
	RETURNING app, id)
SELECT v.id IS NOT NULL, v.key, v.value
FROM s LEFT JOIN {V} v ON v.app = s.app AND v.id = s.id`

	// pgCreate consumes the ID's reservation, if any, inserts the session
	// (counted when there was one) unless its ID is taken, and its values.
	// A taken ID keeps its reservation.
	pgCreate = `/* sqlstore: create */
WITH r AS (
	DELETE FROM {R} WHERE app = $1 AND id = $2
	AND NOT EXISTS (SELECT 1 FROM {T} WHERE app = $1 AND id = $2)
	RETURNING 1),
s AS (
	INSERT INTO {T} (app, id, created, access, expires, nkeys, usr, label, counted)
	VALUES ($1, $2, $3, $3, $4, $5, $6, $7, EXISTS (SELECT 1 FROM r))
	ON CONFLICT DO NOTHING
	RETURNING id),
v AS (
	INSERT INTO {V} (app, id, key, value)
	SELECT $1, s.id, decode(e->>0, 'hex'), decode(e->>1, 'hex')
	FROM s, json_array_elements($8::text::json) e)
SELECT count(*) FROM s`

	// pgSetKeys are the common expressions of pgUpdate and pgAdd: cur, the
	// session when it is live; s, its row locked, expiry, bound and
	// metadata set; v, the keys set.
	pgSetKeys = `WITH cur AS (
	SELECT 1 FROM {T} WHERE app = $1 AND id = $2 AND expires > $3 AND lease = 0),
s AS (
	UPDATE {T} SET access = $3, expires = $4, nkeys = nkeys + $5,
		usr = CASE WHEN $6 THEN $7 ELSE usr END,
		label = CASE WHEN $8 THEN $9 ELSE label END
	WHERE app = $1 AND id = $2 AND expires > $3 AND lease = 0 AND ($10 = 0 OR nkeys + $5 <= $10)
	RETURNING id),
v AS (
	INSERT INTO {V} (app, id, key, value)
	SELECT $1, s.id, decode(e->>0, 'hex'), decode(e->>1, 'hex')
	FROM s, json_array_elements($11::text::json) e
	ON CONFLICT (app, id, key) DO UPDATE SET value = excluded.value)`

	// pgUpdate applies a change that only sets keys, in one statement: the
	// UPDATE locks the session's row (and finds it as the last writer left
	// it), the INSERT ... ON CONFLICT acts on the latest version of each
	// key. nkeys, an upper bound of the number of values, grows by every key
	// set, and the statement refuses (s is empty) when that bound would pass
	// maxKeys ($10, 0 for none): the transaction of guard and apply then
	// counts exactly. cur tells a session that is not live from one that
	// was refused.
	pgUpdate = `/* sqlstore: update */
` + pgSetKeys + `
SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM cur)`

	// pgAdd is pgUpdate with Apply's Add: $12 holds the keys that start
	// from their stored value with what to add to each. An upsert acts on
	// the latest version of its row, whatever the statement's snapshot, so
	// concurrent Adds are exact without a lock held across round trips. The
	// stored value must be what store.ParseInt reads (the canonical decimal
	// form of an int64) and the sum an int64: otherwise the statement fails
	// on a cast whose text names the key (notAnInteger), and writes nothing.
	// CASE runs its tests in order (OR and AND need not), so a value is
	// cast to numeric only once the pattern has matched; encode(..., 'escape') reads bytes of any kind
	// as text, leaving no byte that is not ASCII as a digit.
	pgAdd = `/* sqlstore: add */
` + pgSetKeys + `,
a AS (
	INSERT INTO {V} AS o (app, id, key, value)
	SELECT $1, s.id, decode(e->>0, 'hex'), convert_to(e->>1, 'UTF8')
	FROM s, json_array_elements($12::text::json) e
	ON CONFLICT (app, id, key) DO UPDATE SET value = convert_to(CASE
		WHEN encode(o.value, 'escape') !~ '^(0|-?[1-9][0-9]{0,18})$'
		THEN ('` + notAnInteger + `' || encode(o.key, 'hex'))::bigint::text
		WHEN encode(o.value, 'escape')::numeric NOT BETWEEN -9223372036854775808 AND 9223372036854775807
		THEN ('` + notAnInteger + `' || encode(o.key, 'hex'))::bigint::text
		WHEN encode(o.value, 'escape')::numeric + convert_from(excluded.value, 'UTF8')::numeric
			NOT BETWEEN -9223372036854775808 AND 9223372036854775807
		THEN ('` + notAnInteger + `' || encode(o.key, 'hex'))::bigint::text
		ELSE (encode(o.value, 'escape')::numeric + convert_from(excluded.value, 'UTF8')::numeric)::text
		END, 'UTF8')
	RETURNING key, value)
SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM cur), a.key, a.value
FROM (VALUES (1)) one LEFT JOIN a ON true`

	// pgGuard locks a live session's row and sets its expiry and metadata,
	// first in a transaction that changes its values.
	pgGuard = `/* sqlstore: guard */
UPDATE {T} SET access = $3, expires = $4,
	usr = CASE WHEN $5 THEN $6 ELSE usr END,
	label = CASE WHEN $7 THEN $8 ELSE label END
WHERE app = $1 AND id = $2 AND expires > $3 AND lease = 0`

	// pgApply applies a change to the values of a session whose row the
	// transaction has locked, and returns how many values it then holds,
	// which it also records in nkeys, with the values it took (Apply's
	// Take), one row each, or one row without. It runs after the lock, so
	// it sees the values as the last writer left them; its parts see them
	// as they were when it began, so the keys it deletes, takes and sets are
	// kept apart (newChange, addTake and the clear condition), and the
	// count is worked out from what was there rather than read after the
	// change. Clear ($3) deletes every value but the metadata, whose keys
	// start with '@' (0x40).
	pgApply = `/* sqlstore: apply */
WITH sk AS (
	SELECT decode(e->>0, 'hex') AS key, decode(e->>1, 'hex') AS value
	FROM json_array_elements($4::text::json) e),
dk AS (
	SELECT decode(x, 'hex') AS key FROM json_array_elements_text($5::text::json) x),
tk AS (
	SELECT decode(x, 'hex') AS key FROM json_array_elements_text($6::text::json) x),
d AS (
	DELETE FROM {V} WHERE app = $1 AND id = $2
	AND (key IN (SELECT key FROM dk) OR key IN (SELECT key FROM tk)
		OR ($3 AND substr(key, 1, 1) <> '\x40'::bytea AND key NOT IN (SELECT key FROM sk)))
	RETURNING key, value),
v AS (
	INSERT INTO {V} (app, id, key, value) SELECT $1, $2, key, value FROM sk
	ON CONFLICT (app, id, key) DO UPDATE SET value = excluded.value),
n AS (
	SELECT (SELECT count(*) FROM sk) + (
		SELECT count(*) FROM {V} WHERE app = $1 AND id = $2
		AND (NOT $3 OR substr(key, 1, 1) = '\x40'::bytea)
		AND key NOT IN (SELECT key FROM dk) AND key NOT IN (SELECT key FROM tk)
		AND key NOT IN (SELECT key FROM sk)) AS n),
u AS (
	UPDATE {T} SET nkeys = (SELECT n FROM n) WHERE app = $1 AND id = $2)
SELECT n.n, t.key IS NOT NULL, t.key, t.value FROM n
LEFT JOIN (SELECT key, value FROM d WHERE key IN (SELECT key FROM tk)) t ON true`

	// pgReadValues reads some values of a session whose row the
	// transaction has locked: those Apply's sums start from.
	pgReadValues = `/* sqlstore: read values */
SELECT key, value FROM {V} WHERE app = $1 AND id = $2
AND key IN (SELECT decode(x, 'hex') FROM json_array_elements_text($3::text::json) x)`

	// pgMove renames a live session unless the new ID is taken; the
	// foreign key's ON UPDATE CASCADE renames its values with it. The new
	// ID's reservation is consumed: the session is counted from now on,
	// and if it was counted already, the reservation's count goes.
	pgMove = `/* sqlstore: move */
WITH t AS (
	SELECT 1 FROM {T} WHERE app = $1 AND id = $3),
f AS (
	SELECT counted FROM {T} WHERE app = $1 AND id = $2),
r AS (
	DELETE FROM {R} WHERE app = $1 AND id = $3
	RETURNING 1),
m AS (
	UPDATE {T} SET id = $3, access = $4, expires = $5,
		usr = CASE WHEN $6 THEN $7 ELSE usr END,
		label = CASE WHEN $8 THEN $9 ELSE label END,
		counted = counted OR EXISTS (SELECT 1 FROM r)
	WHERE app = $1 AND id = $2 AND expires > $4 AND lease = 0 AND NOT EXISTS (SELECT 1 FROM t)
	RETURNING nkeys),
c AS (
	UPDATE {C} SET n = n - 1
	WHERE app = $1 AND shard = $10
	AND EXISTS (SELECT 1 FROM m) AND EXISTS (SELECT 1 FROM r) AND (SELECT counted FROM f))
SELECT EXISTS (SELECT 1 FROM t), EXISTS (SELECT 1 FROM m), coalesce((SELECT nkeys FROM m), 0)`

	// pgRemove deletes a live session (its values go with it: ON DELETE
	// CASCADE) and stops counting it.
	pgRemove = `/* sqlstore: delete */
WITH d AS (
	DELETE FROM {T} WHERE app = $1 AND id = $2 AND expires > $3 AND lease = 0
	RETURNING usr, label, created, access, expires, counted),
c AS (
	UPDATE {C} SET n = n - 1
	WHERE app = $1 AND shard = $4 AND EXISTS (SELECT 1 FROM d WHERE counted))
SELECT usr, label, created, access, expires FROM d`

	// pgClaim takes up to $3 expired sessions that no unexpired lease
	// holds, oldest first, skipping rows another claimer is taking at the
	// same moment. Those within retention ($5) it leases until $4 and
	// returns with their values; those past it it deletes and returns
	// without: they are handed out once, then forgotten.
	pgClaim = `/* sqlstore: claim */
WITH c AS (
	SELECT id, expires FROM {T}
	WHERE app = $1 AND expires <= $2 AND lease <= $2
	ORDER BY expires LIMIT $3
	FOR UPDATE SKIP LOCKED),
s AS (
	UPDATE {T} t SET lease = $4 FROM c
	WHERE t.app = $1 AND t.id = c.id AND c.expires > $5
	RETURNING t.id, t.usr, t.label, t.created, t.access, t.expires),
d AS (
	DELETE FROM {T} t USING c
	WHERE t.app = $1 AND t.id = c.id AND c.expires <= $5
	RETURNING t.id, t.usr, t.label, t.created, t.access, t.expires, t.counted),
n AS (
	UPDATE {C} SET n = n - (SELECT count(*) FROM d WHERE counted)
	WHERE app = $1 AND shard = $6 AND EXISTS (SELECT 1 FROM d WHERE counted))
SELECT s.id, s.usr, s.label, s.created, s.access, s.expires, v.id IS NOT NULL, v.key, v.value
FROM s LEFT JOIN {V} v ON v.app = $1 AND v.id = s.id
UNION ALL
SELECT d.id, d.usr, d.label, d.created, d.access, d.expires, false, NULL::bytea, NULL::bytea FROM d
ORDER BY 6, 1`

	pgReap = `/* sqlstore: reap */
WITH d AS (
	DELETE FROM {T}
	WHERE app = $1 AND id IN (SELECT json_array_elements_text($2::text::json)) AND expires <= $3
	RETURNING counted),
n AS (
	UPDATE {C} SET n = n - (SELECT count(*) FROM d WHERE counted)
	WHERE app = $1 AND shard = $4 AND EXISTS (SELECT 1 FROM d WHERE counted))
SELECT count(*) FROM d`

	// pgReserveLock locks every count of the application, in shard order,
	// and returns their sum: the reservations and counted sessions.
	pgReserveLock = `/* sqlstore: reserve lock */
SELECT coalesce(sum(n), 0) FROM (
	SELECT n FROM {C} WHERE app = $1 ORDER BY shard FOR UPDATE) l`

	// pgPurgeReservations deletes lapsed reservations and subtracts them
	// from the count: for Reserve, whose transaction holds every count
	// already, and for the sweep.
	pgPurgeReservations = `/* sqlstore: purge reservations */
WITH d AS (
	DELETE FROM {R} WHERE app = $1 AND id IN (
		SELECT id FROM {R} WHERE app = $1 AND until <= $2
		LIMIT $3 FOR UPDATE SKIP LOCKED)
	RETURNING 1),
n AS (
	UPDATE {C} SET n = n - (SELECT count(*) FROM d)
	WHERE app = $1 AND shard = $4 AND EXISTS (SELECT 1 FROM d))
SELECT count(*) FROM d`

	// pgReserved tells whether an ID is counted already.
	pgReserved = `/* sqlstore: reserved */
SELECT EXISTS (SELECT 1 FROM {R} WHERE app = $1 AND id = $2)`

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

	pgAddCount = `/* sqlstore: count */
UPDATE {C} SET n = n + $3 WHERE app = $1 AND shard = $2`

	pgSweepSessions = `/* sqlstore: sweep */
WITH d AS (
	DELETE FROM {T} WHERE app = $1 AND id IN (
		SELECT id FROM {T} WHERE app = $1 AND expires <= $2
		ORDER BY expires LIMIT $3 FOR UPDATE SKIP LOCKED)
	RETURNING counted),
n AS (
	UPDATE {C} SET n = n - (SELECT count(*) FROM d WHERE counted)
	WHERE app = $1 AND shard = $4 AND EXISTS (SELECT 1 FROM d WHERE counted))
SELECT count(*) FROM d`

	pgSweepEvents = `/* sqlstore: sweep events */
WITH d AS (
	DELETE FROM {E} WHERE app = $1 AND seq IN (
		SELECT seq FROM {E} WHERE app = $1 AND at <= $2
		ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)
	RETURNING 1)
SELECT count(*) FROM d`
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

// reader returns the pool: pgx prepares each statement once per connection
// itself.
func (p *postgres) reader() querier { return p.db }

func (p *postgres) loadTouch(ctx context.Context, id string, now, exp int64) (map[string][]byte, bool, error) {
	return readValues(p.db.QueryContext(ctx, p.sql.loadTouch, p.app, id, now, exp))
}

func (p *postgres) create(ctx context.Context, id string, c *change, now, exp int64) error {
	var n int
	err := p.db.QueryRowContext(ctx, p.sql.create, p.app, id, now, exp, c.nset,
		c.user.value, c.label.value, c.set).Scan(&n)
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
		if err := guard(ctx, q, p.sql.guard, p.app, id, c.user, c.label, now, exp); err != nil {
			return err
		}
		return p.applyLimited(ctx, q, id, c, maxKeys)
	})
	return found(err)
}

// applyLimited runs pgApply and refuses a result of more than maxKeys
// values.
func (p *postgres) applyLimited(ctx context.Context, q querier, id string, c *change, maxKeys int) error {
	_, n, err := p.applyChange(ctx, q, id, c)
	if err != nil {
		return err
	}
	return limit(n, maxKeys)
}

// applyChange runs pgApply on a session whose row the transaction has
// locked: it applies c and returns the values it took and how many values
// the session then holds.
func (p *postgres) applyChange(ctx context.Context, q querier, id string, c *change) (taken map[string][]byte, n int, err error) {
	rows, err := q.QueryContext(ctx, p.sql.apply, p.app, id, c.clear, c.set, c.del, c.take)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			present    bool
			key, value []byte
		)
		if err := rows.Scan(&n, &present, &key, &value); err != nil {
			return nil, 0, err
		}
		if present {
			if taken == nil {
				taken = make(map[string][]byte)
			}
			taken[string(key)] = nonNil(value)
		}
	}
	return taken, n, rows.Err()
}

// apply runs an Apply that only sets and adds in one statement when the
// session's bound on its number of values allows it, and otherwise Apply's
// steps in a transaction (see applySteps.run).
func (p *postgres) apply(ctx context.Context, id string, a *addTake, now, exp int64, maxKeys int) (values map[string][]byte, ok bool, err error) {
	if a.addOnly() {
		values, ok, done, err := p.add(ctx, id, a, now, exp, maxKeys)
		if done {
			return values, ok, err
		}
		// Over the bound, or changed by another writer meanwhile: count.
	}
	steps := applySteps{app: p.app, guard: p.sql.guard, read: p.sql.readValues, change: p.applyChange}
	err = p.tx(ctx, func(q querier) error {
		values, err = steps.run(ctx, q, id, a, now, exp, maxKeys)
		return err
	})
	if ok, err = found(err); !ok {
		return nil, false, err
	}
	return values, true, nil
}

// add runs pgAdd: done is false when it wrote nothing to a live session,
// its bound on the number of values having passed maxKeys.
func (p *postgres) add(ctx context.Context, id string, a *addTake, now, exp int64, maxKeys int) (values map[string][]byte, found, done bool, err error) {
	set, values, err := a.sums(nil, false)
	if err != nil {
		return nil, false, true, err
	}
	pairs, nset := pairs(set)
	rows, err := p.db.QueryContext(ctx, p.sql.add, p.app, id, now, exp, nset+len(a.read),
		a.user.change, a.user.value, a.label.change, a.label.value, max(maxKeys, 0), pairs, a.increments())
	if err != nil {
		return nil, false, true, notAnIntegerError(err)
	}
	defer rows.Close()
	var updated, live int
	for rows.Next() {
		var key, value []byte
		if err := rows.Scan(&updated, &live, &key, &value); err != nil {
			return nil, false, true, err
		}
		if key != nil {
			values[string(key)] = nonNil(value)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, true, notAnIntegerError(err)
	}
	switch {
	case updated == 1:
		return values, true, true, nil
	case live == 0:
		return nil, false, true, nil
	}
	return nil, false, false, nil
}

// notAnInteger starts the text pgAdd casts to bigint, failing, when a
// stored value is no integer or a sum overflows; the key follows in hex.
const notAnInteger = "sqlstore: not an integer: "

// notAnIntegerError returns err as an error wrapping store.ErrNotInteger,
// naming the key, when pgAdd failed on its cast (SQLSTATE 22P02,
// invalid_text_representation, with notAnInteger in the message), and err
// otherwise.
func notAnIntegerError(err error) error {
	var state interface{ SQLState() string }
	if !errors.As(err, &state) || state.SQLState() != "22P02" {
		return err
	}
	msg := err.Error()
	i := strings.Index(msg, notAnInteger)
	if i < 0 {
		return err
	}
	h := msg[i+len(notAnInteger):]
	h = h[:len(h)-len(strings.TrimLeft(h, "0123456789abcdef"))]
	key, decodeErr := hex.DecodeString(h)
	if decodeErr != nil {
		return err
	}
	return fmt.Errorf("sqlstore: apply: key %q: %w", key, store.ErrNotInteger)
}

// move renames the session, then applies the change and counts its values
// (a separate statement: the values are renamed by the foreign key's
// cascade, which the change must see), in one transaction.
func (p *postgres) move(ctx context.Context, from, to string, c *change, now, exp int64, maxKeys int) (bool, error) {
	err := p.tx(ctx, func(q querier) error {
		var taken, moved bool
		var nkeys int
		err := q.QueryRowContext(ctx, p.sql.move, p.app, from, to, now, exp,
			c.user.change, c.user.value, c.label.change, c.label.value, shardOf(to)).
			Scan(&taken, &moved, &nkeys)
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
		if c.empty() && (maxKeys <= 0 || nkeys <= maxKeys) {
			return nil
		}
		return p.applyLimited(ctx, q, to, c, maxKeys)
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

func (p *postgres) claim(ctx context.Context, now, until, cut int64, limit int) ([]store.Record, error) {
	rows, err := p.db.QueryContext(ctx, p.sql.claim, p.app, now, limit, until, cut, anyShard())
	return readRecords(rows, err, cut)
}

func (p *postgres) reap(ctx context.Context, ids []string, now int64) error {
	var n int
	return p.db.QueryRowContext(ctx, p.sql.reap, p.app, idList(ids), now, shardOf(ids[0])).Scan(&n)
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
			// An ID counted already (a Reserve retried after its answer
			// was lost) keeps its place.
			var counted bool
			if err := q.QueryRowContext(ctx, p.sql.reserved, p.app, id).Scan(&counted); err != nil {
				return err
			}
			if counted {
				ok = true
				return nil
			}
			// Reservations whose session never came make room first.
			var purged int64
			if err := q.QueryRowContext(ctx, p.sql.reservePurge, p.app, now, purgeBatch, shardOf(id)).Scan(&purged); err != nil {
				return err
			}
			if total-purged >= int64(max) {
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

// sweep removes one batch, in one statement.
func (p *postgres) sweep(ctx context.Context, what sweepTarget, now, cut int64, n int) (int, error) {
	var query string
	args := []any{p.app, cut, n, anyShard()}
	switch what {
	case sweepSessions:
		query = p.sql.sweepSessions
	case sweepReservations:
		query = p.sql.sweepReservations
	case sweepEvents:
		query, args = p.sql.sweepEvents, args[:3]
	}
	var removed int
	err := p.db.QueryRowContext(ctx, query, args...).Scan(&removed)
	return removed, err
}

// anyShard returns a row of <Table>_counts to subtract from, at random so
// that servers sweeping at once seldom update the same.
func anyShard() int { return rand.IntN(shards) }

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
