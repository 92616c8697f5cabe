// Package gobench reads the output of go test -bench -benchmem and gives,
// for each benchmark run several times (-count), the median of each figure
// and the range of ns/op.
package gobench

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/seed58a3dad2/session/bench/internal/result"
)

// Bench is one benchmark's figures over its runs.
type Bench struct {
	// Name is the benchmark's name without the "Benchmark" prefix and the
	// GOMAXPROCS suffix: "Middleware/read/serial".
	Name               string
	Runs               int
	NsOp, NsMin, NsMax float64 // median, least and most ns/op
	BytesOp, AllocsOp  float64 // medians
}

// gomaxprocs is the "-2" go test appends to a name when GOMAXPROCS > 1.
var gomaxprocs = regexp.MustCompile(`-\d+$`)

// Parse reads go test's output and returns every benchmark in the order of
// its first result; lines that are not results are skipped.
func Parse(r io.Reader) ([]Bench, error) {
	type runs struct{ ns, bytes, allocs []float64 }
	all := map[string]*runs{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a benchmark's log line, not its result
		}
		name := gomaxprocs.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		x, ok := all[name]
		if !ok {
			x = &runs{}
			all[name] = x
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				x.ns = append(x.ns, v)
			case "B/op":
				x.bytes = append(x.bytes, v)
			case "allocs/op":
				x.allocs = append(x.allocs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]Bench, 0, len(order))
	for _, name := range order {
		x := all[name]
		b := Bench{Name: name, Runs: len(x.ns)}
		if len(x.ns) > 0 {
			b.NsOp = result.MedianOf(x.ns) // sorts
			b.NsMin, b.NsMax = x.ns[0], x.ns[len(x.ns)-1]
		}
		b.BytesOp = result.MedianOf(x.bytes)
		b.AllocsOp = result.MedianOf(x.allocs)
		out = append(out, b)
	}
	return out, nil
}
