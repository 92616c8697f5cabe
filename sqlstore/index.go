package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/seed58a3dad2/session/store"
)

// Indexed reports true: the tables are the index. Counting, listing and
// finding a user's sessions cost no more than their queries.
func (s *Store) Indexed() bool { return true }

// Count returns how many sessions of the application are live, with one
// query that counts entries of the index by expiry: its cost grows with the
// number of live sessions, so it is an administrator's call, not a
// request's.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.e.reader().QueryRowContext(ctx, s.q.count, s.app, millis(s.now())).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count: %w", err)
	}
	return n, nil
}

// List returns up to limit live sessions in the order of their IDs, after
// cursor, which is "" for the first page and then the next of the page
// before (the last ID listed), with one query. A session that stays live
// from the first page to the last is listed once; one created, moved or
// ended meanwhile may or may not be. A limit of zero or less lists nothing.
func (s *Store) List(ctx context.Context, cursor string, limit int) ([]store.Info, string, error) {
	if limit <= 0 {
		return nil, "", nil
	}
	// One more than asked: whether there is a next page.
	rows, err := s.e.reader().QueryContext(ctx, s.q.list, s.app, millis(s.now()), cursor, limit+1)
	recs, err := readInfos(rows, err)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: list: %w", err)
	}
	next := ""
	if len(recs) > limit {
		recs = recs[:limit]
		next = recs[limit-1].ID
	}
	return infos(recs), next, nil
}

// Peek returns the values of session id and what Info says of it, without
// setting its expiry, with one query.
func (s *Store) Peek(ctx context.Context, id string) (store.Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, fmt.Errorf("sqlstore: peek: %w", err)
	}
	if !validText(id) {
		return store.Record{}, false, nil
	}
	rows, err := s.e.reader().QueryContext(ctx, s.q.peek, s.app, id, millis(s.now()))
	if err != nil {
		return store.Record{}, false, fmt.Errorf("sqlstore: peek: %w", err)
	}
	defer rows.Close()
	rec := store.Record{Info: store.Info{ID: id}}
	for rows.Next() {
		var (
			user, label, key, value  []byte
			created, access, expires int64
			present                  bool
		)
		if err := rows.Scan(&user, &label, &created, &access, &expires, &present, &key, &value); err != nil {
			return store.Record{}, false, fmt.Errorf("sqlstore: peek: %w", err)
		}
		if rec.Values == nil {
			rec.Values = make(map[string][]byte)
			fillInfo(&rec.Info, user, label, created, access, expires)
		}
		if present {
			rec.Values[string(key)] = nonNil(value)
		}
	}
	if err := rows.Err(); err != nil {
		return store.Record{}, false, fmt.Errorf("sqlstore: peek: %w", err)
	}
	return rec, rec.Values != nil, nil
}

// Remove deletes session id, as Delete does, and returns what it was.
func (s *Store) Remove(ctx context.Context, id string) (store.Info, bool, error) {
	return s.remove(ctx, "remove", id)
}

// UserSessions returns the live sessions whose store.UserKey value is user,
// oldest first, with one query on an index by user. A session whose user is
// empty has none, and "" lists none. The index is a column
// of the sessions' own rows, so it has no entries to prune: it goes with
// its session.
func (s *Store) UserSessions(ctx context.Context, user string) ([]store.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: user sessions: %w", err)
	}
	if user == "" {
		return nil, nil // no session has the empty user: see change.user
	}
	rows, err := s.e.reader().QueryContext(ctx, s.q.userSessions, s.app, []byte(user), millis(s.now()))
	recs, err := readInfos(rows, err)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user sessions: %w", err)
	}
	return infos(recs), nil
}

// readInfos reads rows of id, usr, label, created, access and expires into
// records without values.
func readInfos(rows *sql.Rows, err error) ([]store.Record, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var recs []store.Record
	for rows.Next() {
		var (
			rec                      store.Record
			user, label              []byte
			created, access, expires int64
		)
		if err := rows.Scan(&rec.ID, &user, &label, &created, &access, &expires); err != nil {
			return nil, err
		}
		fillInfo(&rec.Info, user, label, created, access, expires)
		recs = append(recs, rec)
	}
	return recs, rows.Err()
}

// infos returns what recs say without values.
func infos(recs []store.Record) []store.Info {
	out := make([]store.Info, len(recs))
	for i, r := range recs {
		out[i] = r.Info
	}
	return out
}

// fillInfo sets the fields of info from the columns of a session's row.
func fillInfo(info *store.Info, user, label []byte, created, access, expires int64) {
	info.User = string(user)
	info.Label = string(label)
	info.Created = instant(created)
	info.LastAccess = instant(access)
	info.Expires = instant(expires)
}

// readIDs reads rows of one column of IDs.
func readIDs(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// errNoApp is returned when the application's row is missing, which New
// inserts: someone deleted it.
var errNoApp = errors.New("the application's row in <Table>_apps is missing: restart the server, whose New registers it again")

// nilIfEmpty returns nil (NULL) for an empty s, else its bytes.
func nilIfEmpty(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
