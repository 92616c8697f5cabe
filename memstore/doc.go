// Package memstore keeps sessions in the memory of one process: fast, and
// right for tests, development and single-instance deployments, but lost on
// restart and not shared between servers (use redisstore for that). A Store
// splits its sessions into independently locked shards so that concurrent
// requests rarely wait for each other, and treats expired sessions as
// missing on every access. A session's values are never changed in place,
// only replaced, so that a read can borrow them instead of copying them
// (store.Lender); a write copies the few it changes. It keeps an expired
// session's values for Retention, for a claimer (store.Expirer), and runs a
// sweeper that removes the sessions past it every SweepInterval until
// Close. It also keeps an
// index by user in each shard (store.Indexer), counts sessions toward a
// limit (store.Limiter) and hands events to subscribers in the process
// (store.Notifier).
//
//	s := memstore.New(memstore.Config{})
//	defer s.Close()
//	err := s.Create(ctx, id, map[string][]byte{"user": []byte("42")}, 24*time.Hour, 0)
package memstore
