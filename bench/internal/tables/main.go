// Package tables writes the markdown tables of BENCHMARKS.md from what the
// benchmark programs measured: the main table of bench/run.sh, the tables
// of bench/scale.sh and bench/memsize's. bench/report prints them;
// bench/docgen puts them into BENCHMARKS.md.
package tables

import (
	"fmt"
	"io"
	"strings"

	"github.com/seed58a3dad2/session/bench/internal/result"
)

// Endpoints are the endpoints of the main table, in its order.
var Endpoints = []string{"/login", "/read", "/write", "/writeonly", "/add", "/take", "/noop"}

// Contenders are the contenders of the main table, in its order.
var Contenders = []string{"floor", "bare", "session-redis", "session-redis-farm", "session-mem", "scs", "gorilla",
	"floor-sqlite", "session-sqlite", "scs-sqlite", "floor-pg", "session-pg", "scs-pg"}

var describe = map[string]string{
	"/login":     "new session with two values",
	"/read":      "read one value",
	"/write":     "read then write (increment)",
	"/writeonly": "write one value, no read",
	"/add":       "atomic increment (peers: read then write)",
	"/take":      "take a flash message (none there)",
	"/noop":      "token sent, session untouched",
}

// FloorOf returns the contender whose figures c's are a ratio of: the
// one-statement floor on the same database for a SQL contender, else the
// one-command Redis floor. For the SQL contenders "Redis cmds" are zero and
// "round trips" and "cmds sent" count what the database driver was sent
// (statements, with BEGIN and COMMIT among the round trips).
func FloorOf(c string) string {
	switch {
	case strings.HasSuffix(c, "-sqlite"):
		return "floor-sqlite"
	case strings.HasSuffix(c, "-pg"):
		return "floor-pg"
	}
	return "floor"
}

// Main writes the main table: every endpoint, every contender measured,
// each figure the median of the rounds next to its ratio to the floor of
// the same run.
func Main(w io.Writer, med map[result.Cell]result.Result) {
	get := func(c, e string) (result.Result, bool) {
		r, ok := med[result.Cell{Contender: c, Endpoint: e}]
		return r, ok
	}
	fmt.Fprintln(w, "| endpoint | contender | req/s | x floor | p50 µs | x floor | p99 µs | x floor | server CPU µs/req | x floor | Redis CPU µs/req | Redis cmds/req | x floor | round trips/req | cmds sent/req | commands executed per request |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, e := range Endpoints {
		for _, c := range Contenders {
			r, ok := get(c, e)
			if !ok {
				continue
			}
			fl, hasFloor := get(FloorOf(c), e)
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
			fmt.Fprintf(w, "| `%s` %s | %s | %.0f | %s | %.0f | %s | %.0f | %s | %.1f | %s | %.1f | %.2f | %s | %.2f | %.2f | %s |\n",
				e, describe[e], name, r.RPS, ratio(r.RPS, fl.RPS), r.P50us, ratio(r.P50us, fl.P50us),
				r.P99us, ratio(r.P99us, fl.P99us), r.ServerCPUus, ratio(r.ServerCPUus, fl.ServerCPUus), r.RedisCPUus,
				r.RedisCmds, ratio(r.RedisCmds, fl.RedisCmds),
				r.RoundTrips, r.Sent, r.Breakdown)
		}
	}
}

// Memory writes bench/memsize's table.
func Memory(w io.Writer, rows []result.MemSize) {
	fmt.Fprintln(w, "| store | bytes per session | how |")
	fmt.Fprintln(w, "| --- | ---: | --- |")
	for _, m := range rows {
		if m.Usage == 0 {
			fmt.Fprintf(w, "| %s | %.0f | Go heap (HeapAlloc) growth after GC over %d sessions, IDs included |\n", m.Store, m.Bytes, m.Sessions)
			continue
		}
		fmt.Fprintf(w, "| %s | %.0f (MEMORY USAGE %.0f) | INFO used_memory growth over %d sessions; MEMORY USAGE ... SAMPLES 0 averaged over 200 keys |\n", m.Store, m.Bytes, m.Usage, m.Sessions)
	}
}
