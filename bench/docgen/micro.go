package main

import (
	"fmt"
	"strings"

	"github.com/seed58a3dad2/session/bench/internal/gobench"
)

// microBlock renders the library's benchmarks: BenchmarkMiddleware
// (memstore) and BenchmarkMiddlewareRedis with a serial and a parallel
// column each, BenchmarkObservability with one column per mode. how is
// the command that ran them (machine.env's gobench).
func microBlock(benches []gobench.Bench, how string) string {
	var b strings.Builder
	if how != "" {
		fmt.Fprintf(&b, "`%s`; ns/op is the median of the runs (least–most in brackets), B/op and allocs/op the median (they do not move).\n\n", how)
	}
	byName := map[string]gobench.Bench{}
	for _, x := range benches {
		byName[x.Name] = x
	}
	ns := func(x gobench.Bench, ok bool) string {
		switch {
		case !ok:
			return "–"
		case x.Runs < 2:
			return fmt.Sprintf("%.0f", x.NsOp)
		}
		return fmt.Sprintf("%.0f (%.0f–%.0f)", x.NsOp, x.NsMin, x.NsMax)
	}
	for _, t := range []struct{ prefix, title string }{
		{"Middleware", "BenchmarkMiddleware (memstore)"},
		{"MiddlewareRedis", "BenchmarkMiddlewareRedis (redisstore on a private Redis)"},
	} {
		cases := casesOf(benches, t.prefix+"/", 0)
		if len(cases) == 0 {
			fmt.Fprintf(&b, "%s: not measured in this run.\n\n", t.title)
			continue
		}
		fmt.Fprintf(&b, "| %s | serial ns/op | parallel ns/op | B/op | allocs/op |\n| --- | ---: | ---: | ---: | ---: |\n", t.title)
		for _, c := range cases {
			s, sok := byName[t.prefix+"/"+c+"/serial"]
			p, pok := byName[t.prefix+"/"+c+"/parallel"]
			ref := s
			if !sok {
				ref = p
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.0f |\n", c, ns(s, sok), ns(p, pok), ref.BytesOp, ref.AllocsOp)
		}
		b.WriteString("\n")
	}
	modes := casesOf(benches, "Observability/", 0)
	if len(modes) == 0 {
		b.WriteString("BenchmarkObservability: not measured in this run.\n")
		return b.String()
	}
	reqs := casesOf(benches, "Observability/", 1)
	fmt.Fprintf(&b, "| BenchmarkObservability (serial, memstore) |")
	for _, m := range modes {
		fmt.Fprintf(&b, " %s allocs/op | %s ns/op |", m, m)
	}
	b.WriteString("\n| --- |" + strings.Repeat(" ---: | ---: |", len(modes)) + "\n")
	for _, r := range reqs {
		fmt.Fprintf(&b, "| %s |", r)
		for _, m := range modes {
			x, ok := byName["Observability/"+m+"/"+r]
			if !ok {
				b.WriteString(" – | – |")
				continue
			}
			fmt.Fprintf(&b, " %.0f | %s |", x.AllocsOp, ns(x, true))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// casesOf returns, in order of first appearance, the distinct path
// elements at depth of the benchmarks whose name starts with prefix.
func casesOf(benches []gobench.Bench, prefix string, depth int) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range benches {
		rest, ok := strings.CutPrefix(x.Name, prefix)
		if !ok {
			continue
		}
		parts := strings.Split(rest, "/")
		if depth >= len(parts) || seen[parts[depth]] {
			continue
		}
		seen[parts[depth]] = true
		out = append(out, parts[depth])
	}
	return out
}
