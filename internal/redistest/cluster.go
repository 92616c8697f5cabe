package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seed58a3dad2/session/internal/testenv"
)

// clusterSkipMessage is what tests report when no Redis Cluster is available.
const clusterSkipMessage = "no Redis Cluster: set REDIS_CLUSTER_ADDRS or install redis-server and redis-cli to run Cluster tests"

// ClusterClient returns a client of a Redis Cluster, closed in t.Cleanup. It
// honours context deadlines (ContextTimeoutEnabled), as redisstore.New
// requires.
//
// If REDIS_CLUSTER_ADDRS is set (seed addresses, host:port separated by
// commas) the client connects there and the test fails unless every master
// answers PING. Otherwise, if redis-server and redis-cli are on PATH, the
// client connects to a private Cluster of three masters without replicas,
// on free loopback ports and without persistence. Otherwise the test is
// skipped.
//
// A private Cluster takes two seconds or more to start, mostly waiting: a
// master reports cluster_state:ok no sooner than two seconds after it
// starts. So tests share one. It starts with the first test that asks for
// it, and stops when the last test holding it ends; a test holds it from
// ClusterClient until its cleanup. Call ClusterClient in a parent test to
// run its subtests on one Cluster. Tests sharing a Cluster must keep to
// their own keys (see Prefix), and must not expect an empty script cache.
func ClusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	if env := os.Getenv("REDIS_CLUSTER_ADDRS"); env != "" {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddrs(env), ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := c.ForEachMaster(ctx, func(ctx context.Context, master *redis.Client) error {
			return master.Ping(ctx).Err()
		})
		if err != nil {
			t.Fatalf("REDIS_CLUSTER_ADDRS=%q: a master does not answer PING: %v", env, err)
		}
		return c
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, clusterSkipMessage)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		testenv.Missing(t, clusterSkipMessage)
	}
	addrs := cluster.acquire(t, server, cli)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	// Registered after the release of the Cluster, so it runs before.
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// clusterAddrs splits the value of REDIS_CLUSTER_ADDRS into addresses.
func clusterAddrs(env string) []string {
	var addrs []string
	for a := range strings.SplitSeq(env, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// cluster is the private Cluster that ClusterClient starts.
var cluster sharedCluster

// sharedCluster is a private Cluster shared by the tests that hold it at the
// same time.
type sharedCluster struct {
	mu      sync.Mutex // protects the fields below; held while the Cluster starts
	holders int        // tests holding the Cluster
	addrs   []string   // its nodes, while holders > 0
	stop    func()     // stops it, while holders > 0
}

// acquire returns the addresses of the Cluster, starting it if no test holds
// it, and makes t hold it until t's cleanup.
func (s *sharedCluster) acquire(t testing.TB, server, cli string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holders == 0 {
		nodes, stop, err := startCluster(server, cli)
		if err != nil {
			t.Fatalf("redistest: start a Redis Cluster: %v", err)
		}
		s.addrs, s.stop = addrsOf(nodes), stop
	}
	s.holders++
	t.Cleanup(s.release)
	return s.addrs
}

// release lets go of the Cluster, and stops it if no test holds it any more.
func (s *sharedCluster) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holders--
	if s.holders == 0 {
		s.stop()
		s.addrs, s.stop = nil, nil
	}
}

// clusterSize is the number of masters of a private Cluster: three, the
// fewest redis-cli --cluster create accepts.
const clusterSize = 3

// startCluster starts clusterSize redis-servers in cluster mode, with the
// options args, each in its own directory, joins them with redis-cli
// --cluster create into a Cluster of masters without replicas, and waits
// until every node reports cluster_state:ok. stop kills the servers and
// removes their directories.
func startCluster(server, cli string, args ...string) (nodes []*server, stop func(), err error) {
	dir, err := os.MkdirTemp("", "redistest-cluster-")
	if err != nil {
		return nil, nil, err
	}
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
		_ = os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	for i := range clusterSize {
		nodeDir := filepath.Join(dir, strconv.Itoa(i))
		if err := os.Mkdir(nodeDir, 0o700); err != nil {
			return nil, nil, err
		}
		node, err := runOnFreePort(freeClusterPort, server, nodeDir, slices.Concat([]string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
			// Nodes that ping each other this often agree on the slots
			// within a second of meeting; the default (15 s) can take
			// several.
			"--cluster-node-timeout", "2000",
		}, args)...)
		if err != nil {
			return nil, nil, fmt.Errorf("start node %d: %w", i, err)
		}
		stops = append(stops, node.stop)
		nodes = append(nodes, node)
	}
	addrs := addrsOf(nodes)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	create := exec.CommandContext(ctx, cli, slices.Concat(
		[]string{"--cluster", "create"}, addrs, []string{"--cluster-replicas", "0", "--cluster-yes"},
	)...)
	if out, err := create.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	for _, addr := range addrs {
		if err := waitClusterOK(ctx, addr); err != nil {
			return nil, nil, err
		}
	}
	return nodes, stop, nil
}

// addrsOf returns the addresses of nodes.
func addrsOf(nodes []*server) []string {
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr
	}
	return addrs
}

// BreakableCluster starts a private Cluster of three masters without
// replicas for this test alone, as ClusterClient does, and returns a client
// of it (closed in t.Cleanup) and a function that kills the node listening
// on addr with SIGKILL, as a crash would, and waits for it to exit.
//
// Its nodes keep serving their own slots while another is down
// (cluster-require-full-coverage no): with the default, yes, every node
// refuses every command once it learns that a slot has no live master.
// Without redis-server and redis-cli on PATH the test is skipped;
// REDIS_CLUSTER_ADDRS is not used, since a test must not kill nodes others
// share.
func BreakableCluster(t testing.TB) (c *redis.ClusterClient, kill func(addr string)) {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, clusterSkipMessage)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		testenv.Missing(t, clusterSkipMessage)
	}
	nodes, stop, err := startCluster(server, cli, "--cluster-require-full-coverage", "no")
	if err != nil {
		t.Fatalf("redistest: start a Redis Cluster: %v", err)
	}
	t.Cleanup(stop)
	c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrsOf(nodes), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	kill = func(addr string) {
		for _, n := range nodes {
			if n.addr == addr {
				n.stop()
				return
			}
		}
		t.Fatalf("redistest: no node of the Cluster listens on %s", addr)
	}
	return c, kill
}

// freeClusterPort returns a loopback port that was free a moment ago, and
// whose cluster bus port, the port plus 10000, was free too.
func freeClusterPort() (int, error) {
	const low, high = 20000, 65535 - 10000
	for range 100 {
		port := low + rand.IntN(high-low+1)
		if listenable(port) && listenable(port+10000) {
			return port, nil
		}
	}
	return 0, errors.New("found no free port whose port+10000 was free too")
}

// listenable reports whether a loopback TCP port can be listened on.
func listenable(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// waitClusterOK polls CLUSTER INFO on the node at addr until it reports
// cluster_state:ok or ctx is done.
func waitClusterOK(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s never reported cluster_state:ok: %v, %q", addr, err, info)
		case <-poll.C:
		}
	}
}
