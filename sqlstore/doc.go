// Package sqlstore keeps sessions in SQL tables, on PostgreSQL for a farm of
// servers that already runs one, or in an embedded SQLite file for a single
// server whose sessions must survive restarts with nothing else to run. It
// works through database/sql and imports no driver: the program opens the
// *sql.DB with the driver of its choice (tested: github.com/jackc/pgx/v5's
// stdlib and modernc.org/sqlite, which needs no cgo) and names the dialect.
//
// Each session is a row, each of its values another, so that two requests
// that change different keys of one session both keep their change. Every
// write is guarded: it locks the session's row only while the session is
// live (expires after the store's clock says now), so a write never brings
// back a session that expired or was deleted. Apply's Add and Take run
// under that lock too: on PostgreSQL an Apply that only sets and adds is
// one statement whose upserts add to the latest stored values; otherwise
// the stored values are read once the row is locked and the sums are
// worked out in Go (store.AddInt) and written in the same transaction. So
// concurrent Adds are exact and one of concurrent Takes gets the value; a
// value that is not an integer leaves the whole change unwritten. A Store creates and upgrades its tables itself, removes expired
// rows with a background sweep, and implements the capabilities a farm
// needs: store.Indexer, store.Expirer, store.Limiter and store.Notifier.
// The README's "SQL" section has the tables, their indexes and the
// statements each operation costs.
//
//	// PostgreSQL, any number of servers.
//	db, err := sql.Open("pgx", "postgres://app@db.internal/app") // import _ "github.com/jackc/pgx/v5/stdlib"
//	db.SetMaxOpenConns(16) // a few per core of the database server
//	db.SetMaxIdleConns(16) // as many: database/sql keeps 2, and would reconnect for most requests
//	st, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Postgres, Application: "shop"})
//	defer st.Close()
//
//	// SQLite, one server.
//	db, err := sqlstore.OpenSQLite("/var/lib/shop/sessions.db") // import _ "modernc.org/sqlite"
//	st, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
//	defer st.Close()
package sqlstore
