package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	res "github.com/seed58a3dad2/session/bench/internal/result"
)

// scaleColumn is one column of a scale table: its heading and how a cell
// is written.
type scaleColumn struct {
	head, align string
	cell        func(r result, p res.Preload) string
}

var (
	colRPS       = scaleColumn{"req/s", "---:", func(r result, _ res.Preload) string { return fmt.Sprintf("%.0f", r.RPS) }}
	colP50       = scaleColumn{"p50 µs", "---:", func(r result, _ res.Preload) string { return fmt.Sprintf("%.0f", r.P50us) }}
	colP99       = scaleColumn{"p99 µs", "---:", func(r result, _ res.Preload) string { return fmt.Sprintf("%.0f", r.P99us) }}
	colErrors    = scaleColumn{"errors", "---:", func(r result, _ res.Preload) string { return fmt.Sprint(r.Errors) }}
	colServerCPU = scaleColumn{"server CPU µs/req", "---:", func(r result, _ res.Preload) string { return fmt.Sprintf("%.1f", r.ServerCPUus) }}
	colRedisCPU  = scaleColumn{"Redis CPU µs/req", "---:", func(r result, _ res.Preload) string { return fmt.Sprintf("%.1f", r.RedisCPUus) }}
	colRedisCmds = scaleColumn{"Redis cmds/req", "---:", func(r result, _ res.Preload) string { return fmt.Sprintf("%.2f", r.RedisCmds) }}
	colBytes     = scaleColumn{"Redis bytes in / out per req", "---:", func(r result, _ res.Preload) string {
		return fmt.Sprintf("%.0f / %.0f", r.RedisInBytes, r.RedisOutBytes)
	}}
	colBreakdown = scaleColumn{"commands executed per request", "---", func(r result, _ res.Preload) string { return r.Breakdown }}
	colNodes     = scaleColumn{"Redis cmds/req on each master", "---", func(r result, _ res.Preload) string {
		if len(r.NodeCmds) == 0 {
			return fmt.Sprintf("%.2f", r.RedisCmds)
		}
		parts := make([]string, len(r.NodeCmds))
		for i, n := range r.NodeCmds {
			parts[i] = fmt.Sprintf("%.2f", n)
		}
		return strings.Join(parts, " / ")
	}}
	colMemory = scaleColumn{"memory per session", "---:", func(_ result, p res.Preload) string {
		switch {
		case p.Sessions == 0:
			return "–"
		case p.Contender == "session-mem":
			return fmt.Sprintf("%.0f B heap", p.HeapBytes)
		}
		return fmt.Sprintf("%.0f B Redis", p.RedisBytes)
	}}
	colPreload = scaleColumn{"preload s", "---:", func(_ result, p res.Preload) string {
		if p.Sessions == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f", p.Seconds)
	}}
)

// scaleTables gives each dimension of bench/scale.sh the heading of its
// first column (the label) and its other columns.
var scaleTables = map[string]struct {
	label   string
	columns []scaleColumn
}{
	"sessions": {"sessions stored", []scaleColumn{colRPS, colP99, colServerCPU, colRedisCPU, colRedisCmds, colMemory, colPreload}},
	"keys":     {"values per session", []scaleColumn{colRPS, colP99, colServerCPU, colRedisCPU, colBytes, colMemory, colBreakdown}},
	"clients":  {"clients", []scaleColumn{colRPS, colP50, colP99, colErrors, colServerCPU, colRedisCPU}},
	"cluster":  {"masters", []scaleColumn{colRPS, colP99, colServerCPU, colRedisCPU, colRedisCmds, colNodes, colBreakdown}},
}

// scaleTable prints the table of dimension kind from bench/load's results
// in in, with bench/server's preload reports from the file preloads (may be
// empty): one row per point, contender and endpoint, in the order they were
// measured, each figure the median of the rounds.
func scaleTable(kind string, in []io.Reader, preloads string) error {
	t, ok := scaleTables[kind]
	if !ok {
		return fmt.Errorf("-scale %q: want sessions, keys, clients or cluster", kind)
	}
	type cell struct{ label, contender, endpoint string }
	var order []cell
	runs := map[cell][]result{}
	for _, r := range in {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			var x result
			if err := json.Unmarshal([]byte(line), &x); err != nil {
				return fmt.Errorf("%v: %s", err, line)
			}
			k := cell{x.Label, x.Contender, x.Endpoint}
			if _, seen := runs[k]; !seen {
				order = append(order, k)
			}
			runs[k] = append(runs[k], x)
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	pre := map[[2]string]res.Preload{}
	if preloads != "" {
		f, err := os.Open(preloads)
		if err != nil {
			return err
		}
		defer f.Close()
		dec := json.NewDecoder(f)
		for dec.More() {
			var p res.Preload
			if err := dec.Decode(&p); err != nil {
				return fmt.Errorf("%s: %v", preloads, err)
			}
			pre[[2]string{p.Label, p.Contender}] = p
		}
	}

	heads := []string{t.label, "contender", "endpoint"}
	aligns := []string{"---:", "---", "---"}
	for _, c := range t.columns {
		heads = append(heads, c.head)
		aligns = append(aligns, c.align)
	}
	fmt.Printf("| %s |\n| %s |\n", strings.Join(heads, " | "), strings.Join(aligns, " | "))
	for _, k := range order {
		r := median(runs[k])
		row := []string{k.label, k.contender, "`" + k.endpoint + "`"}
		for _, c := range t.columns {
			row = append(row, c.cell(r, pre[[2]string{k.label, k.contender}]))
		}
		fmt.Printf("| %s |\n", strings.Join(row, " | "))
	}
	return nil
}
