package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// A migration brings the tables from the previous version to version, in
// each dialect. <Table>_schema records every version applied, with when:
// New applies those that are missing, in order, in the transaction that
// holds the schema lock, so a server that starts while another upgrades
// waits, then finds nothing to do.
type migration struct {
	version  int
	postgres []string
	sqlite   []string
}

// migrations are the versions of the schema, oldest first. A change to the
// tables is a new version at the end; a version once released is never
// edited.
var migrations = []migration{{
	version: 1,
	postgres: []string{
		// One row per session. Times are milliseconds since the Unix epoch
		// by the store's clock. nkeys is an upper bound of the number of
		// values (exact after any change that deletes keys or nears
		// MaxKeys), lease the end of the current claim of an expired
		// session (0: none), counted whether the session counts toward
		// Reserve's limit (it was stored under a reservation); usr and label
		// copy the values of the keys store.UserKey and store.LabelKey, for
		// the indexes. IDs and applications compare byte by byte (COLLATE
		// "C"): faster, and the same order on every server.
		`CREATE TABLE {T} (
	app     text COLLATE "C" NOT NULL,
	id      text COLLATE "C" NOT NULL,
	created bigint NOT NULL,
	access  bigint NOT NULL,
	expires bigint NOT NULL,
	lease   bigint NOT NULL DEFAULT 0,
	nkeys   integer NOT NULL DEFAULT 0,
	counted boolean NOT NULL DEFAULT false,
	usr     bytea,
	label   bytea,
	PRIMARY KEY (app, id))`,
		// Count, and the claims and sweeps that take the oldest expired.
		`CREATE INDEX {T_expires} ON {T} (app, expires)`,
		// A user's sessions, oldest first; only sessions with a user.
		`CREATE INDEX {T_usr} ON {T} (app, usr, created) WHERE usr IS NOT NULL`,
		// One row per value, keys and values byte for byte. The foreign
		// key deletes a session's values with it and renames them with it
		// (Move), and no value can outlive its session.
		`CREATE TABLE {V} (
	app   text COLLATE "C" NOT NULL,
	id    text COLLATE "C" NOT NULL,
	key   bytea NOT NULL,
	value bytea NOT NULL,
	PRIMARY KEY (app, id, key),
	FOREIGN KEY (app, id) REFERENCES {T} (app, id) ON DELETE CASCADE ON UPDATE CASCADE)`,
		// Reservations and counted sessions, toward Reserve's limit: the sum
		// of an application's 64 rows, so that concurrent reservations and
		// deletes seldom wait for the same row.
		`CREATE TABLE {C} (
	app   text COLLATE "C" NOT NULL,
	shard smallint NOT NULL,
	n     bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (app, shard))`,
		// IDs reserved by Reserve whose session is not stored yet.
		`CREATE TABLE {R} (
	app   text COLLATE "C" NOT NULL,
	id    text COLLATE "C" NOT NULL,
	until bigint NOT NULL,
	PRIMARY KEY (app, id))`,
		// Reservations past their grace period, for the sweep.
		`CREATE INDEX {R_until} ON {R} (app, until)`,
		// One row per application: the number of its last event.
		`CREATE TABLE {A} (
	app        text COLLATE "C" PRIMARY KEY,
	last_event bigint NOT NULL DEFAULT 0)`,
		// Events, numbered in the order they become visible, for the
		// subscriptions to poll.
		`CREATE TABLE {E} (
	app    text COLLATE "C" NOT NULL,
	seq    bigint NOT NULL,
	at     bigint NOT NULL,
	kind   smallint NOT NULL,
	id     text NOT NULL,
	usr    bytea,
	reason text NOT NULL,
	PRIMARY KEY (app, seq))`,
	},
	sqlite: []string{
		// As for PostgreSQL, without the foreign key: SQLite enforces one
		// only on connections that switch it on, so the store deletes and
		// renames values itself. STRICT: a value of the wrong type is an
		// error, not a silent conversion.
		`CREATE TABLE {T} (
	app     TEXT NOT NULL,
	id      TEXT NOT NULL,
	created INTEGER NOT NULL,
	access  INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	lease   INTEGER NOT NULL DEFAULT 0,
	nkeys   INTEGER NOT NULL DEFAULT 0,
	counted INTEGER NOT NULL DEFAULT 0,
	usr     BLOB,
	label   BLOB,
	PRIMARY KEY (app, id)) STRICT`,
		`CREATE INDEX {T_expires} ON {T} (app, expires)`,
		`CREATE INDEX {T_usr} ON {T} (app, usr, created) WHERE usr IS NOT NULL`,
		`CREATE TABLE {V} (
	app   TEXT NOT NULL,
	id    TEXT NOT NULL,
	key   BLOB NOT NULL,
	value BLOB NOT NULL,
	PRIMARY KEY (app, id, key)) STRICT`,
		`CREATE TABLE {C} (
	app   TEXT NOT NULL,
	shard INTEGER NOT NULL,
	n     INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (app, shard)) STRICT`,
		`CREATE TABLE {R} (
	app   TEXT NOT NULL,
	id    TEXT NOT NULL,
	until INTEGER NOT NULL,
	PRIMARY KEY (app, id)) STRICT`,
		`CREATE INDEX {R_until} ON {R} (app, until)`,
		`CREATE TABLE {A} (
	app        TEXT PRIMARY KEY,
	last_event INTEGER NOT NULL DEFAULT 0) STRICT`,
		`CREATE TABLE {E} (
	app    TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	at     INTEGER NOT NULL,
	kind   INTEGER NOT NULL,
	id     TEXT NOT NULL,
	usr    BLOB,
	reason TEXT NOT NULL,
	PRIMARY KEY (app, seq)) STRICT`,
	},
}}

// The statements of setup that read the same in both dialects.
const (
	createSchemaTableSQL = `/* sqlstore: schema */
CREATE TABLE IF NOT EXISTS {S} (version integer PRIMARY KEY, applied bigint NOT NULL)`

	schemaVersionSQL = `/* sqlstore: schema version */
SELECT coalesce(max(version), 0) FROM {S}`

	recordVersionSQL = `/* sqlstore: schema applied */
INSERT INTO {S} (version, applied) VALUES ($1, $2)`

	registerAppSQL = `/* sqlstore: register */
INSERT INTO {A} (app) VALUES ($1) ON CONFLICT DO NOTHING`

	registerCountsSQL = `/* sqlstore: register counts */
WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < 63)
INSERT INTO {C} (app, shard) SELECT $1, x FROM s WHERE true ON CONFLICT DO NOTHING`
)

// migrate brings the tables to the last version of steps and registers app,
// in a transaction that already holds the schema lock.
func migrate(ctx context.Context, q querier, qs *queries, steps []migration, dialect Dialect, app string) error {
	if _, err := q.ExecContext(ctx, qs.sql(createSchemaTableSQL)); err != nil {
		return fmt.Errorf("create %s: %w", qs.sql("{S}"), err)
	}
	var version int
	if err := q.QueryRowContext(ctx, qs.sql(schemaVersionSQL)).Scan(&version); err != nil {
		return fmt.Errorf("read the schema version from %s: %w", qs.sql("{S}"), err)
	}
	if last := steps[len(steps)-1].version; version > last {
		return fmt.Errorf("the tables are at schema version %d, newer than this sqlstore knows (%d): "+
			"run a version of the package at least as new as the one that upgraded them", version, last)
	}
	for _, m := range steps {
		if m.version <= version {
			continue
		}
		stmts := m.postgres
		if dialect == SQLite {
			stmts = m.sqlite
		}
		for _, stmt := range stmts {
			if _, err := q.ExecContext(ctx, qs.sql(stmt)); err != nil {
				return fmt.Errorf("upgrade the tables to schema version %d: %w", m.version, err)
			}
		}
		if _, err := q.ExecContext(ctx, qs.sql(recordVersionSQL), m.version, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("record schema version %d: %w", m.version, err)
		}
	}
	if _, err := q.ExecContext(ctx, qs.sql(registerAppSQL), app); err != nil {
		return fmt.Errorf("register the application: %w", err)
	}
	if _, err := q.ExecContext(ctx, qs.sql(registerCountsSQL), app); err != nil {
		return fmt.Errorf("register the application's counts: %w", err)
	}
	return nil
}
