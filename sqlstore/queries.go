package sqlstore

import "strings"

// queries holds the table names of a Store and the statements that read the
// same in both dialects. Statements are written with placeholders for the
// names, such as {T} for the sessions table, replaced once in New; every
// value a caller or a client sends is a bound parameter ($1, $2...), never
// part of the text. Each statement starts with a comment naming it, which
// shows in the database's logs and statistics (pg_stat_statements) and lets
// tests count statements by name.
type queries struct {
	table string // Config.Table
	names *strings.Replacer

	load         string
	touch        string
	count        string
	list         string
	peek         string
	userSessions string
	lastEvent    string
	events       string
}

// newQueries returns the queries of the tables named after table.
func newQueries(table string) *queries {
	quote := func(suffix string) string { return `"` + table + suffix + `"` }
	q := &queries{table: table, names: strings.NewReplacer(
		"{T}", quote(""), // sessions
		"{V}", quote("_values"),
		"{C}", quote("_counts"),
		"{R}", quote("_reservations"),
		"{E}", quote("_events"),
		"{A}", quote("_apps"),
		"{S}", quote("_schema"),
		"{T_expires}", quote("_expires"),
		"{T_usr}", quote("_usr"),
		"{R_until}", quote("_reservations_until"),
	)}
	q.load = q.sql(loadSQL)
	q.touch = q.sql(touchSQL)
	q.count = q.sql(countSQL)
	q.list = q.sql(listSQL)
	q.peek = q.sql(peekSQL)
	q.userSessions = q.sql(userSessionsSQL)
	q.lastEvent = q.sql(lastEventSQL)
	q.events = q.sql(eventsSQL)
	return q
}

// sql returns tmpl with the table names of q.
func (q *queries) sql(tmpl string) string { return q.names.Replace(tmpl) }

// The statements both dialects share. A session is live while its expiry,
// in milliseconds since the Unix epoch, is after now, which the store's
// clock gives ($3 or $2 below), and no reaper has claimed it (lease = 0): an
// expired session is gone the moment it expires, whatever the sweeper has
// done, and a claimed one stays gone even for a request whose clock reads a
// moment earlier than the claimer's.
const (
	// loadSQL returns one row per value of a live session, or one row with
	// present false for a live session without values, or none.
	loadSQL = `/* sqlstore: load */
SELECT v.id IS NOT NULL, v.key, v.value
FROM {T} s LEFT JOIN {V} v ON v.app = s.app AND v.id = s.id
WHERE s.app = $1 AND s.id = $2 AND s.expires > $3 AND s.lease = 0`

	touchSQL = `/* sqlstore: touch */
UPDATE {T} SET access = $3, expires = $4
WHERE app = $1 AND id = $2 AND expires > $3 AND lease = 0`

	countSQL = `/* sqlstore: count live */
SELECT count(*) FROM {T} WHERE app = $1 AND expires > $2 AND lease = 0`

	listSQL = `/* sqlstore: list */
SELECT id, usr, label, created, access, expires FROM {T}
WHERE app = $1 AND expires > $2 AND lease = 0 AND id > $3
ORDER BY id LIMIT $4`

	peekSQL = `/* sqlstore: peek */
SELECT s.usr, s.label, s.created, s.access, s.expires, v.id IS NOT NULL, v.key, v.value
FROM {T} s LEFT JOIN {V} v ON v.app = s.app AND v.id = s.id
WHERE s.app = $1 AND s.id = $2 AND s.expires > $3 AND s.lease = 0`

	userSessionsSQL = `/* sqlstore: user sessions */
SELECT id, usr, label, created, access, expires FROM {T}
WHERE app = $1 AND usr = $2 AND expires > $3 AND lease = 0
ORDER BY created, id`

	lastEventSQL = `/* sqlstore: last event */
SELECT last_event FROM {A} WHERE app = $1`

	eventsSQL = `/* sqlstore: events */
SELECT seq, kind, id, usr, reason FROM {E}
WHERE app = $1 AND seq > $2
ORDER BY seq LIMIT $3`
)
