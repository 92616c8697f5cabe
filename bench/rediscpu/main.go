// Command rediscpu measures the Redis CPU time one store operation costs:
// redisstore's Create, Update and Load, in both modes, the candidate write
// paths of issue 13 item 3, and the one-command floors (SET, GET, INCR)
// and the peers' commands. It starts a private redis-server on a free
// loopback port, runs each case n times from concurrent clients, and prints
// a markdown table with, per operation:
//
//   - commands: INFO commandstats calls, those run inside a script
//     included;
//   - cmd µs: INFO commandstats usec of the commands the client sent (a
//     script's usec already holds the commands it runs), the CPU time
//     Redis measures itself around each command: little sensitive to
//     what else the machine runs;
//   - cpu µs: used_cpu_user + used_cpu_sys of INFO cpu, everything the
//     process spent, reading and writing sockets included: the figure of
//     BENCHMARKS.md's Redis CPU column.
//
// cmd µs is wall-clock time around each command, so a command during which
// the machine's other work preempts Redis counts long; cpu µs is CPU time,
// which preemption does not inflate, but which depends on how many
// requests one wake-up of Redis's event loop serves. With one client (the
// default) each operation is one wake-up, one read and one write: cpu µs
// is then the cost of the operation plus a fixed cost per round trip,
// which the PING case gives, whatever the machine's load. With
// -concurrency 32, as bench/run.sh drives the servers, wake-ups serve
// several requests and the fixed part shrinks.
//
// Each figure is the median of the rounds; the cases of a round run in
// turn, so that a slow spell of the machine hits all of them alike.
//
//	cd bench && go run ./rediscpu                    # 5 rounds of 20000
//	cd bench && go run ./rediscpu -run 'update' -n 50000
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	n := flag.Int("n", 20000, "operations per case and round")
	rounds := flag.Int("rounds", 5, "rounds; the table gives medians")
	concurrency := flag.Int("concurrency", 1, "concurrent clients, each with its own connection")
	sessions := flag.Int("sessions", 1000, "sessions the reads and writes cycle over")
	run := flag.String("run", "", "regular expression: only the cases whose name matches")
	flag.Parse()
	only, err := regexp.Compile(*run)
	if err != nil {
		log.Fatalf("-run: %v", err)
	}

	addr, stop := startRedis()
	defer stop()
	client := redis.NewClient(&redis.Options{Addr: addr, PoolSize: *concurrency, ContextTimeoutEnabled: true})
	defer client.Close()
	ctx := context.Background()

	var selected []benchCase
	for _, c := range cases(client, *sessions) {
		if only.MatchString(c.name) {
			selected = append(selected, c)
		}
	}
	if len(selected) == 0 {
		log.Fatalf("no case matches -run %q", *run)
	}
	got := make(map[string][]measure)
	for r := 1; r <= *rounds; r++ {
		for _, c := range selected {
			fmt.Fprintf(os.Stderr, "round %d/%d: %s\n", r, *rounds, c.name)
			got[c.name] = append(got[c.name], measureCase(ctx, client, c, *n, *concurrency))
		}
	}

	version, _ := client.Info(ctx, "server").Result()
	fmt.Printf("Redis %s, %d operations per case and round from %d clients, medians of %d rounds\n\n",
		infoField(version, "redis_version"), *n, *concurrency, *rounds)
	fmt.Println("| case | commands per op | cmd µs/op | cpu µs/op |")
	fmt.Println("| --- | --- | ---: | ---: |")
	for _, c := range selected {
		m := median(got[c.name])
		fmt.Printf("| %s | %s | %.2f | %.2f |\n", c.name, m.commands, m.cmdUsec, m.cpuUsec)
	}
}

// A benchCase is one store operation, or its candidate replacement.
type benchCase struct {
	name string
	// top names the commands the client sends: their commandstats usec
	// is the case's cmd µs (the commands a script runs are inside it).
	top []string
	// setup prepares Redis after the FLUSHALL that starts every case
	// (sessions to read or write, a function library to call).
	setup func(ctx context.Context) error
	// op runs operation i.
	op func(ctx context.Context, i int) error
}

// measure is one case's figures per operation in one round.
type measure struct {
	commands         string // "EVALSHA 1.00, HSET 1.00, ..."
	cmdUsec, cpuUsec float64
}

// measureCase empties Redis, sets the case up, resets the command
// statistics and runs the case's operations from concurrency clients.
func measureCase(ctx context.Context, client *redis.Client, c benchCase, n, concurrency int) measure {
	if err := client.FlushAll(ctx).Err(); err != nil {
		log.Fatalf("FLUSHALL: %v", err)
	}
	if c.setup != nil {
		if err := c.setup(ctx); err != nil {
			log.Fatalf("%s: setup: %v", c.name, err)
		}
	}
	// Every client's connection is open before the clock starts.
	var warm sync.WaitGroup
	for range concurrency {
		warm.Go(func() { _ = client.Ping(ctx).Err() })
	}
	warm.Wait()
	if err := client.ConfigResetStat(ctx).Err(); err != nil {
		log.Fatalf("CONFIG RESETSTAT: %v", err)
	}
	cpuBefore := redisCPU(ctx, client)

	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := c.op(ctx, i); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		log.Fatalf("%s: %v", c.name, err)
	}

	cpuAfter := redisCPU(ctx, client)
	info, err := client.Info(ctx, "commandstats").Result()
	if err != nil {
		log.Fatalf("INFO commandstats: %v", err)
	}
	stats := parseCommandstats(info)
	var m measure
	var parts []string
	names := make([]string, 0, len(stats))
	for name := range stats {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if stats[names[i]].calls != stats[names[j]].calls {
			return stats[names[i]].calls > stats[names[j]].calls
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		if name == "info" || name == "config|resetstat" {
			continue
		}
		per := float64(stats[name].calls) / float64(n)
		if per >= 0.005 {
			parts = append(parts, fmt.Sprintf("%s %.2f", strings.ToUpper(name), per))
		}
		if slices.Contains(c.top, name) {
			m.cmdUsec += float64(stats[name].usec) / float64(n)
		}
	}
	m.commands = strings.Join(parts, ", ")
	m.cpuUsec = float64(cpuAfter-cpuBefore) / float64(n)
	return m
}

// median returns the median of each figure over the rounds, and the
// commands of the first.
func median(ms []measure) measure {
	med := func(f func(measure) float64) float64 {
		v := make([]float64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return measure{
		commands: ms[0].commands,
		cmdUsec:  med(func(m measure) float64 { return m.cmdUsec }),
		cpuUsec:  med(func(m measure) float64 { return m.cpuUsec }),
	}
}

// stat is one line of INFO commandstats.
type stat struct{ calls, usec int64 }

// parseCommandstats reads lines such as
// "cmdstat_get:calls=21,usec=175,usec_per_call=8.33,...".
func parseCommandstats(info string) map[string]stat {
	m := make(map[string]stat)
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var s stat
		for field := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "calls":
				s.calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				s.usec, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		m[strings.TrimPrefix(name, "cmdstat_")] = s
	}
	return m
}

// redisCPU returns used_cpu_sys + used_cpu_user of INFO cpu in microseconds.
func redisCPU(ctx context.Context, client *redis.Client) int64 {
	info, err := client.Info(ctx, "cpu").Result()
	if err != nil {
		log.Fatalf("INFO cpu: %v", err)
	}
	var total float64
	for _, k := range []string{"used_cpu_sys", "used_cpu_user"} {
		f, _ := strconv.ParseFloat(infoField(info, k), 64)
		total += f
	}
	return int64(total * 1e6)
}

// infoField returns the value of field k of an INFO reply.
func infoField(info, k string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), k+":"); ok {
			return v
		}
	}
	return ""
}

// startRedis starts a private redis-server on a free loopback port, without
// persistence, and returns its address and a function that stops it.
func startRedis() (string, func()) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		log.Fatal("rediscpu needs redis-server (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "rediscpu")
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", dir+"/redis.log")
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		os.RemoveAll(dir)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, stop
		}
		if time.Now().After(deadline) {
			stop()
			log.Fatalf("redis-server never listened on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newID returns a session ID as the middleware makes them: 128 random bits
// in base64url.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
