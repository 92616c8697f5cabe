// Command report reads the JSON lines that load prints (from the files named,
// or standard input) and prints a markdown table with each figure as a ratio
// to the floor measured in the same run, then the targets of issue 4, met or
// missed. A cell measured several times (rounds) shows the median of each
// figure. With -scale it prints instead one table of bench/scale.sh (see
// scale.go).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	res "github.com/seed58a3dad2/session/bench/internal/result"
	"io"
	"log"
	"os"
	"slices"
	"strings"
)

// result is what bench/load writes.
type result = res.Result

var (
	endpoints  = []string{"/login", "/read", "/write", "/writeonly", "/add", "/take", "/noop"}
	contenders = []string{"floor", "bare", "session-redis", "session-mem", "scs", "gorilla",
		"floor-sqlite", "session-sqlite", "scs-sqlite", "floor-pg", "session-pg", "scs-pg"}
	describe = map[string]string{
		"/login":     "new session with two values",
		"/read":      "read one value",
		"/write":     "read then write (increment)",
		"/writeonly": "write one value, no read",
		"/add":       "atomic increment (peers: read then write)",
		"/take":      "take a flash message (none there)",
		"/noop":      "token sent, session untouched",
	}
)

func main() {
	log.SetFlags(0)
	scale := flag.String("scale", "", "print bench/scale.sh's table of this dimension: sessions, keys, clients or cluster")
	preloads := flag.String("preload", "", "with -scale: bench/server's preload reports (memory per session)")
	flag.Parse()
	var in []io.Reader
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		in = append(in, f)
	}
	if len(in) == 0 {
		in = append(in, os.Stdin)
	}
	if *scale != "" {
		if err := scaleTable(*scale, in, *preloads); err != nil {
			log.Fatal(err)
		}
		return
	}
	runs := map[[2]string][]result{}
	for _, r := range in {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			var x result
			if err := json.Unmarshal([]byte(line), &x); err != nil {
				log.Fatalf("%v: %s", err, line)
			}
			k := [2]string{x.Contender, x.Endpoint}
			runs[k] = append(runs[k], x)
		}
		if err := sc.Err(); err != nil {
			log.Fatal(err)
		}
	}
	res := map[[2]string]result{}
	for k, rs := range runs {
		res[k] = median(rs)
	}
	get := func(c, e string) (result, bool) { r, ok := res[[2]string{c, e}]; return r, ok }

	fmt.Println("| endpoint | contender | req/s | x floor | p50 µs | x floor | p99 µs | x floor | server CPU µs/req | x floor | Redis CPU µs/req | Redis cmds/req | x floor | round trips/req | cmds sent/req | commands executed per request |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, e := range endpoints {
		for _, c := range contenders {
			r, ok := get(c, e)
			if !ok {
				continue
			}
			fl, hasFloor := get(floorOf(c), e)
			ratio := func(v, f float64) string {
				if !hasFloor || f == 0 {
					return "–"
				}
				return fmt.Sprintf("%.2f", v/f)
			}
			name := c
			if r.Errors > 0 {
				name += fmt.Sprintf(" (%d errors)", r.Errors)
			}
			fmt.Printf("| `%s` %s | %s | %.0f | %s | %.0f | %s | %.0f | %s | %.1f | %s | %.1f | %.2f | %s | %.2f | %.2f | %s |\n",
				e, describe[e], name, r.RPS, ratio(r.RPS, fl.RPS), r.P50us, ratio(r.P50us, fl.P50us),
				r.P99us, ratio(r.P99us, fl.P99us), r.ServerCPUus, ratio(r.ServerCPUus, fl.ServerCPUus), r.RedisCPUus,
				r.RedisCmds, ratio(r.RedisCmds, fl.RedisCmds),
				r.RoundTrips, r.Sent, r.Breakdown)
		}
	}

	fmt.Println()
	fmt.Println("Targets (issue 4), from this run:")
	fmt.Println()
	check := func(what string, got, want float64, ok bool) {
		mark := "met"
		if !ok {
			mark = "MISSED"
		}
		fmt.Printf("- %s: %.2f (target %.2f) — %s\n", what, got, want, mark)
	}
	vs := func(c, e, base string) (float64, bool) {
		r, ok1 := get(c, e)
		b, ok2 := get(base, e)
		if !ok1 || !ok2 || b.RPS == 0 {
			return 0, false
		}
		return r.RPS / b.RPS, true
	}
	for _, t := range []struct {
		what, endpoint, base string
		want                 float64
	}{
		{"read only on redisstore, x floor req/s", "/read", "floor", 0.9},
		{"write only on redisstore, x floor req/s", "/writeonly", "floor", 0.9},
		{"read then write on redisstore, x floor req/s", "/write", "floor", 0.45},
		{"noop with a token on redisstore, x bare req/s", "/noop", "bare", 0.95},
		{"noop with a token on memstore, x bare req/s", "/noop", "bare", 0.95},
	} {
		c := "session-redis"
		if strings.Contains(t.what, "memstore") {
			c = "session-mem"
		}
		if got, ok := vs(c, t.endpoint, t.base); ok {
			check(t.what, got, t.want, got >= t.want)
		}
		// The same comparison in server CPU per request (the base's over
		// ours), which other load on the machine disturbs less.
		r, ok1 := get(c, t.endpoint)
		b, ok2 := get(t.base, t.endpoint)
		if ok1 && ok2 && r.ServerCPUus > 0 {
			got := b.ServerCPUus / r.ServerCPUus
			check("  same, by server CPU µs/req ("+t.base+"'s / ours)", got, t.want, got >= t.want)
		}
	}
	for _, e := range endpoints {
		for _, db := range []string{"sqlite", "pg"} {
			ours, ok1 := get("session-"+db, e)
			p, ok2 := get("scs-"+db, e)
			if !ok1 || !ok2 || p.RPS == 0 {
				continue
			}
			check(fmt.Sprintf("`%s` on %s: req/s x scs", e, db), ours.RPS/p.RPS, 1, ours.RPS > p.RPS)
			check(fmt.Sprintf("`%s` on %s: round trips/req minus scs's", e, db), ours.RoundTrips-p.RoundTrips, 0, ours.RoundTrips <= p.RoundTrips+0.05)
		}
		ours, ok := get("session-redis", e)
		if !ok {
			continue
		}
		for _, peer := range []string{"scs", "gorilla"} {
			p, ok := get(peer, e)
			if !ok {
				continue
			}
			check(fmt.Sprintf("`%s` req/s x %s", e, peer), ours.RPS/p.RPS, 1, ours.RPS > p.RPS)
			check(fmt.Sprintf("`%s` round trips/req minus %s's", e, peer), ours.RoundTrips-p.RoundTrips, 0, ours.RoundTrips <= p.RoundTrips+0.05)
			check(fmt.Sprintf("`%s` Redis cmds executed/req minus %s's", e, peer), ours.RedisCmds-p.RedisCmds, 0, ours.RedisCmds <= p.RedisCmds+0.05)
		}
	}
}

// floorOf returns the contender whose figures c's are a ratio of: the
// one-statement floor on the same database for a SQL contender, else the
// one-command Redis floor. For the SQL contenders "Redis cmds" are zero and
// "round trips" and "cmds sent" count what the database driver was sent
// (statements, with BEGIN and COMMIT among the round trips).
func floorOf(c string) string {
	switch {
	case strings.HasSuffix(c, "-sqlite"):
		return "floor-sqlite"
	case strings.HasSuffix(c, "-pg"):
		return "floor-pg"
	}
	return "floor"
}

// median returns the median of each figure over the rounds of one cell
// (the mean of the middle two for an even count), errors summed.
func median(rs []result) result {
	m := rs[0]
	m.Errors = 0
	for _, r := range rs {
		m.Errors += r.Errors
	}
	med := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	m.RPS = med(func(r result) float64 { return r.RPS })
	m.P50us = med(func(r result) float64 { return r.P50us })
	m.P99us = med(func(r result) float64 { return r.P99us })
	m.RedisCmds = med(func(r result) float64 { return r.RedisCmds })
	m.RoundTrips = med(func(r result) float64 { return r.RoundTrips })
	m.Sent = med(func(r result) float64 { return r.Sent })
	m.ServerCPUus = med(func(r result) float64 { return r.ServerCPUus })
	m.RedisCPUus = med(func(r result) float64 { return r.RedisCPUus })
	m.RedisInBytes = med(func(r result) float64 { return r.RedisInBytes })
	m.RedisOutBytes = med(func(r result) float64 { return r.RedisOutBytes })
	m.NodeCmds = slices.Clone(m.NodeCmds)
	for i := range m.NodeCmds {
		m.NodeCmds[i] = med(func(r result) float64 {
			if i < len(r.NodeCmds) {
				return r.NodeCmds[i]
			}
			return 0
		})
	}
	return m
}
