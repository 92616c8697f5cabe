// Package verdict computes issue 13's targets, met or missed, from the
// figures of one run of bench/all.sh, each with the figure it was judged
// on.
package verdict

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/seed58a3dad2/session/bench/internal/gobench"
	"github.com/seed58a3dad2/session/bench/internal/result"
)

// Verdict is what a run says of a target.
type Verdict int

const (
	NotMeasured Verdict = iota // the run could not measure it: Row.Measured says why
	Met
	Missed
)

func (v Verdict) String() string {
	switch v {
	case Met:
		return "met"
	case Missed:
		return "**missed**"
	}
	return "not measured"
}

// Row is one target's line of the table.
type Row struct {
	Target   string
	Measured string
	Verdict  Verdict
	// See is the heading of the section of BENCHMARKS.md that explains a
	// miss (its profile); empty when none does.
	See string
}

// The headings of BENCHMARKS.md that explain the misses, by target.
const (
	SeeGaps     = "Where the time goes, and what would close the gaps"
	SeeRedisCPU = "Redis CPU per request: what each command costs"
	SeeMemstore = "memstore's read: what the profile shows"
	SeeTail     = "Tail latency: what is known"
)

// Inputs are the figures of one run; a nil or empty part was not measured,
// for the reason in its Why.
type Inputs struct {
	Main    map[result.Cell]result.Result // bench/run.sh's medians, by contender and endpoint
	MainWhy string

	Micro    []gobench.Bench // go test -bench of the library, on memstore
	MicroWhy string

	Memory    []result.MemSize // bench/memsize
	MemoryWhy string

	// Scale holds bench/scale.sh's medians by dimension (sessions, keys,
	// clients, cluster).
	Scale    map[string]map[result.Cell]result.Result
	ScaleWhy string
}

var (
	endpoints = []string{"/login", "/read", "/write", "/writeonly", "/add", "/take", "/noop"}
	peers     = []string{"scs", "gorilla"}
)

// ScalePoints are the points issue 13 item 5 asks of each dimension.
var ScalePoints = map[string][]string{
	"sessions": {"10000", "100000", "1000000"},
	"keys":     {"1", "10", "100", "256"},
	"clients":  {"32", "256", "1024"},
	"cluster":  {"1", "3"},
}

// Compute returns every target of issue 13, in the order.
func Compute(in Inputs) []Row {
	var rows []Row
	rows = append(rows, ahead(in, "session-redis", "farm features off")...)
	rows = append(rows, ahead(in, "session-redis-farm", "farm features on (`session-redis-farm`)")...)
	rows = append(rows, floorRatios(in)...)
	rows = append(rows, redisCPU(in)...)
	rows = append(rows, memstore(in)...)
	rows = append(rows, scale(in)...)
	rows = append(rows, tails(in)...)
	return rows
}

// Write writes rows as a markdown table; link turns a Row.See heading into
// a markdown link.
func Write(w io.Writer, rows []Row, link func(heading string) string) {
	fmt.Fprintln(w, "| target | measured | verdict |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, r := range rows {
		v := r.Verdict.String()
		if r.Verdict == Missed && r.See != "" {
			v += ": see " + link(r.See)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.Target, r.Measured, v)
	}
}

func (in Inputs) get(c, e string) (result.Result, bool) {
	r, ok := in.Main[result.Cell{Contender: c, Endpoint: e}]
	return r, ok
}

func notMeasured(target, why string) Row {
	return Row{Target: target, Measured: why, Verdict: NotMeasured}
}

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// perEndpoint judges ours against others on every endpoint: ratio gives the
// figure of one endpoint and ok whether it meets the target; an endpoint
// without figures is listed as not measured. With none measured the target
// is not measured.
func (in Inputs) perEndpoint(target, see string, endpoints []string, ratio func(e string) (v float64, ok, measured bool)) Row {
	if in.Main == nil {
		return notMeasured(target, in.MainWhy)
	}
	var parts, missing []string
	v := Met
	for _, e := range endpoints {
		r, ok, measured := ratio(e)
		if !measured {
			missing = append(missing, "`"+e+"`")
			continue
		}
		s := "`" + e + "` " + f2(r)
		if !ok {
			s = "**" + s + "**"
			v = Missed
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return notMeasured(target, "no endpoint has both figures in this run")
	}
	m := strings.Join(parts, ", ")
	if len(missing) > 0 {
		m += "; not measured: " + strings.Join(missing, ", ")
		if v == Met {
			v = NotMeasured
		}
	}
	row := Row{Target: target, Measured: m, Verdict: v}
	if v == Missed {
		row.See = see
	}
	return row
}

// ahead is target 1 for contender c: ahead of both peers on every endpoint
// in req/s and in server CPU per request.
func ahead(in Inputs, c, mode string) []Row {
	best := func(e string, f func(result.Result) float64, better func(a, b float64) bool) (float64, bool) {
		var v float64
		found := false
		for _, p := range peers {
			r, ok := in.get(p, e)
			if !ok {
				return 0, false // ahead of both needs both
			}
			if x := f(r); !found || better(x, v) {
				v, found = x, true
			}
		}
		return v, found
	}
	rps := in.perEndpoint("1. every endpoint ahead of scs and gorilla in req/s, "+mode+": ours x the faster peer", SeeGaps, endpoints,
		func(e string) (float64, bool, bool) {
			ours, ok1 := in.get(c, e)
			peer, ok2 := best(e, func(r result.Result) float64 { return r.RPS }, func(a, b float64) bool { return a > b })
			if !ok1 || !ok2 || peer == 0 {
				return 0, false, false
			}
			return ours.RPS / peer, ours.RPS > peer, true
		})
	cpu := in.perEndpoint("1. ... and in server CPU per request, "+mode+": ours x the cheaper peer's µs", SeeGaps, endpoints,
		func(e string) (float64, bool, bool) {
			ours, ok1 := in.get(c, e)
			peer, ok2 := best(e, func(r result.Result) float64 { return r.ServerCPUus }, func(a, b float64) bool { return a < b })
			if !ok1 || !ok2 || peer == 0 {
				return 0, false, false
			}
			return ours.ServerCPUus / peer, ours.ServerCPUus < peer, true
		})
	return []Row{rps, cpu}
}

// floorRatios is target 2: req/s against the floor (bare for /noop), with
// the same ratio by server CPU beside it.
func floorRatios(in Inputs) []Row {
	var rows []Row
	for _, t := range []struct {
		what, contender, endpoint, base string
		want                            float64
	}{
		{"read-only", "session-redis", "/read", "floor", 0.95},
		{"write-only", "session-redis", "/writeonly", "floor", 0.95},
		{"new session", "session-redis", "/login", "floor", 0.90},
		{"read-then-write", "session-redis", "/write", "floor", 0.70},
		{"`/noop` with a token, redisstore", "session-redis", "/noop", "bare", 0.97},
		{"`/noop` with a token, memstore", "session-mem", "/noop", "bare", 0.97},
	} {
		target := fmt.Sprintf("2. %s ≥ %.2fx %s req/s", t.what, t.want, t.base)
		if in.Main == nil {
			rows = append(rows, notMeasured(target, in.MainWhy))
			continue
		}
		ours, ok1 := in.get(t.contender, t.endpoint)
		base, ok2 := in.get(t.base, t.endpoint)
		if !ok1 || !ok2 || base.RPS == 0 {
			rows = append(rows, notMeasured(target, fmt.Sprintf("%s or %s on `%s` not in this run", t.contender, t.base, t.endpoint)))
			continue
		}
		got := ours.RPS / base.RPS
		m := fmt.Sprintf("%sx (%.0f against %.0f req/s)", f2(got), ours.RPS, base.RPS)
		if ours.ServerCPUus > 0 {
			m += fmt.Sprintf("; by server CPU %sx (%.1f against %.1f µs)", f2(base.ServerCPUus/ours.ServerCPUus), ours.ServerCPUus, base.ServerCPUus)
		}
		rows = append(rows, judged(target, m, got >= t.want, SeeGaps))
	}
	return rows
}

func judged(target, measured string, ok bool, see string) Row {
	if ok {
		return Row{Target: target, Measured: measured, Verdict: Met}
	}
	return Row{Target: target, Measured: measured, Verdict: Missed, See: see}
}

// redisCPU is target 3: Redis CPU per request against the peers' and the
// floor's, on redisstore with the farm features off.
func redisCPU(in Inputs) []Row {
	// /noop calls no Redis, ours nor the floor: nothing to compare.
	calls := slices.DeleteFunc(slices.Clone(endpoints), func(e string) bool { return e == "/noop" })
	peersRow := in.perEndpoint("3. Redis CPU per request ≤ scs's and gorilla's (`/noop` calls none): ours x the lower peer's", SeeRedisCPU, calls,
		func(e string) (float64, bool, bool) {
			ours, ok := in.get("session-redis", e)
			if !ok {
				return 0, false, false
			}
			low := math.Inf(1)
			for _, p := range peers {
				r, ok := in.get(p, e)
				if !ok {
					return 0, false, false
				}
				low = min(low, r.RedisCPUus)
			}
			if low == 0 {
				return 0, false, false
			}
			return ours.RedisCPUus / low, ours.RedisCPUus <= low, true
		})
	floorRow := in.perEndpoint("3. ... and within 1.3x the floor's: ours x the floor's", SeeRedisCPU, calls,
		func(e string) (float64, bool, bool) {
			ours, ok1 := in.get("session-redis", e)
			fl, ok2 := in.get("floor", e)
			if !ok1 || !ok2 || fl.RedisCPUus == 0 {
				return 0, false, false
			}
			r := ours.RedisCPUus / fl.RedisCPUus
			return r, r <= 1.3, true
		})
	return []Row{peersRow, floorRow}
}

// memstore is target 4, from the library's BenchmarkMiddleware and
// bench/memsize.
func memstore(in Inputs) []Row {
	bench := func(name string) (gobench.Bench, bool) {
		i := slices.IndexFunc(in.Micro, func(b gobench.Bench) bool { return b.Name == name })
		if i < 0 {
			return gobench.Bench{}, false
		}
		return in.Micro[i], true
	}
	var rows []Row
	for _, t := range []struct {
		target, bench string
		allocs        bool
		want          float64
	}{
		{"4. memstore: a read of one of 1024 sessions ≤ 1.0 µs, serially", "Middleware/read/serial", false, 1000},
		{"4. memstore: a read ≤ 6 allocations, serially", "Middleware/read/serial", true, 6},
		{"4. memstore: a no-op request with a token ≤ 2 allocations", "Middleware/noop/serial", true, 2},
	} {
		b, ok := bench(t.bench)
		switch {
		case len(in.Micro) == 0:
			rows = append(rows, notMeasured(t.target, in.MicroWhy))
		case !ok:
			rows = append(rows, notMeasured(t.target, "no Benchmark"+t.bench+" in this run"))
		case t.allocs:
			rows = append(rows, judged(t.target, fmt.Sprintf("%.0f allocs/op (Benchmark%s)", b.AllocsOp, t.bench), b.AllocsOp <= t.want, SeeMemstore))
		default:
			rows = append(rows, judged(t.target, fmt.Sprintf("%.2f µs median of %d runs (%.2f–%.2f), Benchmark%s", b.NsOp/1000, b.Runs, b.NsMin/1000, b.NsMax/1000, t.bench),
				b.NsOp <= t.want, SeeMemstore))
		}
	}
	target := "4. memstore: heap per session (two small values) ≤ 499 B"
	i := slices.IndexFunc(in.Memory, func(m result.MemSize) bool { return m.Store == "memstore" })
	switch {
	case len(in.Memory) == 0:
		rows = append(rows, notMeasured(target, in.MemoryWhy))
	case i < 0:
		rows = append(rows, notMeasured(target, "bench/memsize gave no memstore figure"))
	default:
		m := in.Memory[i]
		rows = append(rows, judged(target, fmt.Sprintf("%.0f B over %d sessions", m.Bytes, m.Sessions), m.Bytes <= 499, SeeMemstore))
	}
	return rows
}

// scale is target 5: every table of "How cost grows", at every point the
// issue names.
func scale(in Inputs) []Row {
	var rows []Row
	for _, kind := range []string{"sessions", "keys", "clients", "cluster"} {
		want := ScalePoints[kind]
		target := fmt.Sprintf("5. how cost grows: %s %s", kind, strings.Join(want, " / "))
		med := in.Scale[kind]
		if len(med) == 0 {
			why := in.ScaleWhy
			if in.Scale != nil {
				why = "no " + kind + " table in this run"
			}
			rows = append(rows, notMeasured(target, why))
			continue
		}
		got := map[string]bool{}
		for c := range med {
			got[c.Label] = true
		}
		var have, lack []string
		for _, p := range want {
			if got[p] {
				have = append(have, p)
			} else {
				lack = append(lack, p)
			}
		}
		var extra []string
		for l := range got {
			if !slices.Contains(want, l) {
				extra = append(extra, l)
			}
		}
		slices.Sort(extra)
		m := "measured: " + strings.Join(append(have, extra...), ", ")
		if len(lack) == 0 {
			rows = append(rows, Row{Target: target, Measured: m, Verdict: Met})
			continue
		}
		rows = append(rows, Row{Target: target, Measured: m + "; not measured: " + strings.Join(lack, ", ") + " (a shortened run)", Verdict: NotMeasured})
	}
	return rows
}

// ours maps each of our contenders to its peers in the same storage.
var ours = map[string][]string{
	"session-redis":      peers,
	"session-redis-farm": peers,
	"session-mem":        peers,
	"session-sqlite":     {"scs-sqlite"},
	"session-pg":         {"scs-pg"},
}

// tails is target 6: p99 is a column of every table; no cell of ours may
// have a p99 above the lower of its peers'.
func tails(in Inputs) []Row {
	rows := []Row{}
	target := "6. p99 next to req/s in every cell; no cell of ours with a p99 above the peers' (main table)"
	if in.Main == nil {
		rows = append(rows, notMeasured(target, in.MainWhy))
	} else {
		rows = append(rows, p99Row(target, in.Main))
	}
	target = "6. ... in the tables of how cost grows"
	if len(in.Scale) == 0 {
		return append(rows, notMeasured(target, in.ScaleWhy))
	}
	all := map[result.Cell]result.Result{}
	for kind, med := range in.Scale {
		for c, r := range med {
			// Points of two dimensions can share a label ("1" value, "1"
			// master): the dimension keeps them apart.
			all[result.Cell{Label: kind + " " + c.Label, Contender: c.Contender, Endpoint: c.Endpoint}] = r
		}
	}
	return append(rows, p99Row(target, all))
}

// p99Row compares the p99 of every cell of ours in med with the lower p99
// of its peers in the same point and endpoint.
func p99Row(target string, med map[result.Cell]result.Result) Row {
	type over struct {
		cell        result.Cell
		ours, peers float64
	}
	var overs []over
	compared := 0
	worst := over{}
	worstRatio := 0.0
	for c, r := range med {
		ps, ok := ours[c.Contender]
		if !ok {
			continue
		}
		low := math.Inf(1)
		for _, p := range ps {
			if pr, ok := med[result.Cell{Label: c.Label, Contender: p, Endpoint: c.Endpoint}]; ok {
				low = min(low, pr.P99us)
			}
		}
		if math.IsInf(low, 1) || low == 0 {
			continue
		}
		compared++
		o := over{c, r.P99us, low}
		if r.P99us > low {
			overs = append(overs, o)
		}
		if ratio := r.P99us / low; ratio > worstRatio {
			worst, worstRatio = o, ratio
		}
	}
	if compared == 0 {
		return notMeasured(target, "no cell of ours has a peer's beside it in this run")
	}
	name := func(c result.Cell) string {
		s := c.Contender + " `" + c.Endpoint + "`"
		if c.Label != "" {
			s = c.Label + ": " + s
		}
		return s
	}
	if len(overs) == 0 {
		return Row{Target: target, Measured: fmt.Sprintf("%d cells compared; the closest, %s: %.0f µs against %.0f", compared, name(worst.cell), worst.ours, worst.peers), Verdict: Met}
	}
	slices.SortFunc(overs, func(a, b over) int {
		return strings.Compare(name(a.cell), name(b.cell))
	})
	parts := make([]string, len(overs))
	for i, o := range overs {
		parts[i] = fmt.Sprintf("%s %.0f against %.0f µs", name(o.cell), o.ours, o.peers)
	}
	return Row{Target: target, Measured: fmt.Sprintf("%d of %d cells above the lower peer: %s", len(overs), compared, strings.Join(parts, "; ")), Verdict: Missed, See: SeeTail}
}
