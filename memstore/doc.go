// Package memstore keeps sessions in the memory of one process: fast, and
// right for tests, development and single-instance deployments, but lost on
// restart and not shared between servers (use redisstore for that). A Store
// splits its sessions into independently locked shards so that concurrent
// requests rarely wait for each other, treats expired sessions as missing on
// every access, and runs a sweeper that removes them every SweepInterval
// until Close.
//
//	s := memstore.New(memstore.Config{})
//	defer s.Close()
//	err := s.Create(ctx, id, map[string][]byte{"user": []byte("42")}, 24*time.Hour, 0)
package memstore
