// Package redistest gives tests in several packages the same access to Redis:
// a client on a real server (REDIS_ADDR, or a private redis-server started for
// the test, or a skip), on a Cluster (REDIS_CLUSTER_ADDRS, or a private
// three-master Cluster, or a skip) and on a Sentinel-managed primary (private,
// or a skip), private servers a test may break (one to pause, one to kill
// and restart on its append-only file, a Cluster whose nodes it may kill, a
// Sentinel with a replica to fail over to), a key prefix of their own, a
// hook that counts round trips, and a way to move the server's notion of time
// forward.
package redistest
