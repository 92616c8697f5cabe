// Command load drives one endpoint of one contender server with many virtual
// clients and prints one JSON line of results.
//
// Each virtual client has its own keep-alive connection and its own cookie
// jar; unless the endpoint is /login, it logs in once before the clock starts
// and then sends its cookies with every request. /login is measured as a new
// visitor: its requests carry no cookie.
//
// The HTTP/1.1 client is a minimal one written for this purpose (fixed GET
// requests, responses with Content-Length), because net/http's client costs
// several times what the servers under test do, and the load generator shares
// the machine's two cores with them.
//
// With -reset it first has the server replace its contender with a fresh
// one (bench/server's /_reset), so that what earlier cells left (memstore's
// sessions, a SQL table's rows, garbage) does not weigh on this one.
//
// With -cookies, the clients log in to nothing: they take the sessions of a
// file that bench/server -preload wrote, one cookie a line, and each client
// sends its requests to its share of them in turn, so that the requests
// spread over every session stored (see bench/scale.sh).
//
// Before and after the measured interval it samples Redis INFO commandstats
// (commands executed, including those run inside Lua scripts), INFO cpu and
// INFO stats (bytes in and out) on every node given, and the server's
// /_stats (round trips and commands its go-redis client sent), and reports
// them per request.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/seed58a3dad2/session/bench/internal/result"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Result is one line of output.
type Result = result.Result

func main() {
	base := flag.String("url", "", "server base URL, e.g. http://127.0.0.1:8080 (loopback only)")
	path := flag.String("path", "/read", "endpoint to drive")
	duration := flag.Duration("duration", 5*time.Second, "measured interval")
	warmup := flag.Duration("warmup", time.Second, "unmeasured interval before it")
	concurrency := flag.Int("concurrency", 32, "virtual clients, each with its own connection and cookie jar")
	redisAddrs := flag.String("redis", "", "Redis addresses for INFO, comma-separated (every master of a Cluster; optional)")
	name := flag.String("contender", "", "label for the output")
	cookies := flag.String("cookies", "", "file of cookies (name=value, one a line) to spread the requests over, instead of one login per client")
	label := flag.String("label", "", "the point of a scale run, copied to the output")
	reset := flag.Bool("reset", false, "first ask the server for a fresh contender (GET /_reset): what each cell of run.sh starts with")
	flag.Parse()

	u, err := url.Parse(*base)
	if err != nil || u.Host == "" {
		log.Fatalf("-url %q: want http://host:port", *base)
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		log.Fatalf("-url %q: only loopback addresses are allowed", *base)
	}
	if *concurrency < 1 || *duration <= 0 {
		log.Fatal("-concurrency and -duration must be positive")
	}

	if *reset {
		resp, err := http.Get(u.JoinPath("/_reset").String())
		if err != nil {
			log.Fatalf("/_reset: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("/_reset: status %d", resp.StatusCode)
		}
	}

	var rdbs []*redis.Client
	for addr := range strings.SplitSeq(*redisAddrs, ",") {
		if addr = strings.TrimSpace(addr); addr != "" {
			rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1})
			defer rdb.Close()
			rdbs = append(rdbs, rdb)
		}
	}

	login := *path == "/login"
	var jars [][]cookie
	if *cookies != "" {
		if login {
			log.Fatal("-cookies: /login is measured without cookies")
		}
		if jars, err = readCookies(*cookies); err != nil {
			log.Fatal(err)
		}
		if len(jars) < *concurrency {
			log.Fatalf("-cookies %s: %d sessions for %d clients: preload at least one a client", *cookies, len(jars), *concurrency)
		}
	}
	// Room for the latencies of a measured interval without growing, at
	// about 40k req/s, and no more than 64 MiB in all.
	perClient := min(1<<16, max(1<<10, (8<<20) / *concurrency))
	clients := make([]*client, *concurrency)
	for i := range clients {
		c, err := dial(u.Host, perClient)
		if err != nil {
			log.Fatal(err)
		}
		defer c.conn.Close()
		switch {
		case jars != nil:
			for j := i; j < len(jars); j += *concurrency {
				c.jars = append(c.jars, jars[j])
			}
		case !login:
			c.jars = [][]cookie{nil}
			if status, err := c.do("/login", true); err != nil || status != http.StatusOK {
				log.Fatalf("login: status %d, %v", status, err)
			}
		default:
			c.jars = [][]cookie{nil}
		}
		clients[i] = c
	}

	var phase atomic.Int32 // 0 warming up, 1 measuring, 2 stopping
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.run(&phase, *path, !login) })
	}
	time.Sleep(*warmup)

	before := snapshot(rdbs, u)
	start := time.Now()
	phase.Store(1)
	time.Sleep(*duration)
	phase.Store(2)
	elapsed := time.Since(start)
	wg.Wait()
	after := snapshot(rdbs, u)

	res := Result{Contender: *name, Endpoint: *path, Concurrency: *concurrency, Seconds: elapsed.Seconds(), Label: *label}
	var lat []time.Duration
	for _, c := range clients {
		res.Requests += int64(len(c.lat))
		res.Errors += c.errs
		lat = append(lat, c.lat...)
	}
	if res.Requests == 0 {
		log.Fatal("no request completed")
	}
	slices.Sort(lat)
	res.RPS = float64(res.Requests) / elapsed.Seconds()
	res.P50us = percentile(lat, 0.50)
	res.P99us = percentile(lat, 0.99)
	n := float64(res.Requests)
	res.RoundTrips = float64(after.roundTrips-before.roundTrips) / n
	res.Sent = float64(after.sent-before.sent) / n
	res.RedisCmds, res.Breakdown = perRequest(before.cmdstats, after.cmdstats, n)
	if len(rdbs) > 1 {
		for i := range rdbs {
			perNode, _ := perRequest(before.nodeCmdstats[i], after.nodeCmdstats[i], n)
			res.NodeCmds = append(res.NodeCmds, perNode)
		}
	}
	res.ServerCPUus = float64(after.serverCPU-before.serverCPU) / n
	res.RedisCPUus = float64(after.redisCPU-before.redisCPU) / n
	res.RedisInBytes = float64(after.redisIn-before.redisIn) / n
	res.RedisOutBytes = float64(after.redisOut-before.redisOut) / n
	if res.Errors > 0 {
		log.Printf("%s %s: %d errors (last: %v)", *name, *path, res.Errors, lastErr(clients))
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func percentile(sorted []time.Duration, p float64) float64 {
	i := int(float64(len(sorted)-1) * p)
	return float64(sorted[i]) / float64(time.Microsecond)
}

// client is one virtual client: a keep-alive connection and cookie jars,
// one per session it sends requests to, in turn.
type client struct {
	addr    string
	conn    net.Conn
	br      *bufio.Reader
	req     []byte
	jars    [][]cookie
	next    int // the jar of the next request
	lat     []time.Duration
	errs    int64
	lastErr error
}

type cookie struct{ name, value string }

func dial(addr string, latencies int) (*client, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{addr: addr, conn: conn, br: bufio.NewReaderSize(conn, 16<<10), lat: make([]time.Duration, 0, latencies)}, nil
}

// readCookies reads a file of cookies, name=value one a line, as one jar
// each.
func readCookies(name string) ([][]cookie, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var jars [][]cookie
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want name=value", name, len(jars)+1)
		}
		jars = append(jars, []cookie{{k, v}})
	}
	return jars, sc.Err()
}

// run sends requests until phase reaches 2, recording the latency of those
// sent while phase is 1.
func (c *client) run(phase *atomic.Int32, path string, useJar bool) {
	for {
		p := phase.Load()
		if p == 2 {
			return
		}
		t0 := time.Now()
		status, err := c.do(path, useJar)
		d := time.Since(t0)
		if err != nil {
			// Reconnect once; a server that keeps failing shows up as errors.
			c.conn.Close()
			if nc, derr := dial(c.addr, 0); derr == nil {
				c.conn, c.br = nc.conn, nc.br
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if p != 1 {
			continue
		}
		c.lat = append(c.lat, d)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d", status)
		}
		if err != nil {
			c.errs++
			c.lastErr = err
		}
	}
}

// do sends GET path and reads the response, updating the jar from its
// Set-Cookie headers, then moves on to the next jar. Without useJar the
// request carries no cookie.
func (c *client) do(path string, useJar bool) (int, error) {
	jar := &c.jars[c.next]
	c.next = (c.next + 1) % len(c.jars)
	b := c.req[:0]
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.addr...)
	b = append(b, "\r\nUser-Agent: bench-load\r\n"...)
	if useJar && len(*jar) > 0 {
		b = append(b, "Cookie: "...)
		for i, ck := range *jar {
			if i > 0 {
				b = append(b, "; "...)
			}
			b = append(b, ck.name...)
			b = append(b, '=')
			b = append(b, ck.value...)
		}
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.req = b
	if _, err := c.conn.Write(b); err != nil {
		return 0, err
	}

	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("bad header line %q", line)
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Set-Cookie")) && useJar:
			setCookie(jar, v)
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return 0, errors.New("chunked responses are not supported")
		case bytes.EqualFold(k, []byte("Connection")) && bytes.EqualFold(v, []byte("close")):
			defer c.conn.Close()
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if _, err := c.br.Discard(length); err != nil {
		return 0, err
	}
	return status, nil
}

// setCookie applies one Set-Cookie header to jar: a cookie with an empty
// value or a Max-Age of zero or less is removed.
func setCookie(jar *[]cookie, h []byte) {
	nv, attrs, _ := bytes.Cut(h, []byte(";"))
	name, value, ok := bytes.Cut(nv, []byte("="))
	if !ok {
		return
	}
	remove := len(value) == 0
	for a := range bytes.SplitSeq(attrs, []byte(";")) {
		k, v, _ := bytes.Cut(bytes.TrimSpace(a), []byte("="))
		if bytes.EqualFold(k, []byte("Max-Age")) {
			if n, err := strconv.Atoi(string(v)); err == nil && n <= 0 {
				remove = true
			}
		}
	}
	for i, ck := range *jar {
		if ck.name == string(name) {
			if remove {
				*jar = slices.Delete(*jar, i, i+1)
			} else {
				(*jar)[i].value = string(value)
			}
			return
		}
	}
	if !remove {
		*jar = append(*jar, cookie{string(name), string(value)})
	}
}

func lastErr(clients []*client) error {
	for _, c := range clients {
		if c.lastErr != nil {
			return c.lastErr
		}
	}
	return nil
}

// counts is what snapshot samples.
type counts struct {
	cmdstats            map[string]int64   // all nodes
	nodeCmdstats        []map[string]int64 // each node
	roundTrips, sent    int64
	serverCPU, redisCPU int64 // microseconds
	redisIn, redisOut   int64 // bytes
}

// snapshot reads INFO commandstats, cpu and stats of every Redis node, and
// the server's /_stats.
func snapshot(rdbs []*redis.Client, u *url.URL) counts {
	c := counts{cmdstats: map[string]int64{}}
	for _, rdb := range rdbs {
		info, err := rdb.Info(context.Background(), "commandstats", "cpu", "stats").Result()
		if err != nil {
			log.Fatalf("INFO: %v", err)
		}
		node := parseCommandstats(info)
		for k, v := range node {
			c.cmdstats[k] += v
		}
		c.nodeCmdstats = append(c.nodeCmdstats, node)
		c.redisCPU += redisCPU(info)
		c.redisIn += infoInt(info, "total_net_input_bytes")
		c.redisOut += infoInt(info, "total_net_output_bytes")
	}
	resp, err := http.Get(u.JoinPath("/_stats").String())
	if err != nil {
		log.Fatalf("/_stats: %v", err)
	}
	defer resp.Body.Close()
	var s struct {
		RoundTrips int64 `json:"round_trips"`
		Commands   int64 `json:"commands"`
		CPU        int64 `json:"cpu_us"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &s); err != nil {
		log.Fatalf("/_stats: %v: %s", err, body)
	}
	c.roundTrips, c.sent, c.serverCPU = s.RoundTrips, s.Commands, s.CPU
	return c
}

// parseCommandstats reads lines such as
// "cmdstat_get:calls=21,usec=175,usec_per_call=8.33,...".
func parseCommandstats(info string) map[string]int64 {
	m := make(map[string]int64)
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for field := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				m[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return m
}

// perRequest returns the commands executed per request between two
// commandstats samples, leaving out the INFO of the samples themselves, and
// a breakdown such as "hgetall 1.00, evalsha 1.00".
func perRequest(before, after map[string]int64, n float64) (float64, string) {
	type kv struct {
		name string
		per  float64
	}
	var total float64
	var list []kv
	for name, calls := range after {
		if name == "info" {
			continue
		}
		d := float64(calls-before[name]) / n
		total += d
		if d >= 0.005 {
			list = append(list, kv{name, d})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].per != list[j].per {
			return list[i].per > list[j].per
		}
		return list[i].name < list[j].name
	})
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("%s %.2f", strings.ToUpper(e.name), e.per)
	}
	return total, strings.Join(parts, ", ")
}

// infoInt returns the integer field name of an INFO answer, 0 if absent.
func infoInt(info, name string) int64 {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// redisCPU returns used_cpu_sys + used_cpu_user of INFO cpu in microseconds.
func redisCPU(info string) int64 {
	var total float64
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return int64(total * 1e6)
}
