package tables

import (
	"fmt"
	"io"
	"strings"

	"github.com/seed58a3dad2/session/bench/internal/result"
)

type res = result.Result

// scaleColumn is one column of a scale table: its heading and how a cell
// is written.
type scaleColumn struct {
	head, align string
	cell        func(r res, p result.Preload) string
}

var (
	colRPS       = scaleColumn{"req/s", "---:", func(r res, _ result.Preload) string { return fmt.Sprintf("%.0f", r.RPS) }}
	colP50       = scaleColumn{"p50 µs", "---:", func(r res, _ result.Preload) string { return fmt.Sprintf("%.0f", r.P50us) }}
	colP99       = scaleColumn{"p99 µs", "---:", func(r res, _ result.Preload) string { return fmt.Sprintf("%.0f", r.P99us) }}
	colErrors    = scaleColumn{"errors", "---:", func(r res, _ result.Preload) string { return fmt.Sprint(r.Errors) }}
	colServerCPU = scaleColumn{"server CPU µs/req", "---:", func(r res, _ result.Preload) string { return fmt.Sprintf("%.1f", r.ServerCPUus) }}
	colRedisCPU  = scaleColumn{"Redis CPU µs/req", "---:", func(r res, _ result.Preload) string { return fmt.Sprintf("%.1f", r.RedisCPUus) }}
	colRedisCmds = scaleColumn{"Redis cmds/req", "---:", func(r res, _ result.Preload) string { return fmt.Sprintf("%.2f", r.RedisCmds) }}
	colBytes     = scaleColumn{"Redis bytes in / out per req", "---:", func(r res, _ result.Preload) string {
		return fmt.Sprintf("%.0f / %.0f", r.RedisInBytes, r.RedisOutBytes)
	}}
	colBreakdown = scaleColumn{"commands executed per request", "---", func(r res, _ result.Preload) string { return r.Breakdown }}
	colNodes     = scaleColumn{"Redis cmds/req on each master", "---", func(r res, _ result.Preload) string {
		if len(r.NodeCmds) == 0 {
			return fmt.Sprintf("%.2f", r.RedisCmds)
		}
		parts := make([]string, len(r.NodeCmds))
		for i, n := range r.NodeCmds {
			parts[i] = fmt.Sprintf("%.2f", n)
		}
		return strings.Join(parts, " / ")
	}}
	colMemory = scaleColumn{"memory per session", "---:", func(_ res, p result.Preload) string {
		switch {
		case p.Sessions == 0:
			return "–"
		case p.Contender == "session-mem":
			return fmt.Sprintf("%.0f B heap", p.HeapBytes)
		}
		return fmt.Sprintf("%.0f B Redis", p.RedisBytes)
	}}
	colPreload = scaleColumn{"preload s", "---:", func(_ res, p result.Preload) string {
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

// ScaleKinds are the dimensions of bench/scale.sh, in its order.
var ScaleKinds = []string{"sessions", "keys", "clients", "cluster"}

// Scale writes the table of dimension kind from the medians of bench/load's
// results and bench/server's preload reports: one row per point,
// contender and endpoint, in the order given.
func Scale(w io.Writer, kind string, med map[result.Cell]result.Result, order []result.Cell, preloads []result.Preload) error {
	t, ok := scaleTables[kind]
	if !ok {
		return fmt.Errorf("scale table %q: want sessions, keys, clients or cluster", kind)
	}
	pre := map[[2]string]result.Preload{}
	for _, p := range preloads {
		pre[[2]string{p.Label, p.Contender}] = p
	}
	heads := []string{t.label, "contender", "endpoint"}
	aligns := []string{"---:", "---", "---"}
	for _, c := range t.columns {
		heads = append(heads, c.head)
		aligns = append(aligns, c.align)
	}
	fmt.Fprintf(w, "| %s |\n| %s |\n", strings.Join(heads, " | "), strings.Join(aligns, " | "))
	for _, k := range order {
		r := med[k]
		row := []string{k.Label, k.Contender, "`" + k.Endpoint + "`"}
		for _, c := range t.columns {
			row = append(row, c.cell(r, pre[[2]string{k.Label, k.Contender}]))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	return nil
}
