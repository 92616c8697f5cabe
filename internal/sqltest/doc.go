// Package sqltest gives tests the SQL databases sqlstore runs on: a schema of
// their own on a PostgreSQL server (PG_DSN, or a private server started once
// per test binary, or a skip), a private server a test may stop and start
// (StoppablePostgres), a fresh SQLite file, and a connector wrapper
// that records every statement the driver receives.
//
// A test binary that uses Postgres must run its tests through Main, which
// stops the private server when they are done:
//
//	func TestMain(m *testing.M) { os.Exit(sqltest.Main(m)) }
package sqltest
