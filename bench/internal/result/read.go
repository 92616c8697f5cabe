package result

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Read reads the JSON lines bench/load writes, skipping blank lines.
func Read(r io.Reader) ([]Result, error) {
	var rs []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var x Result
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			return nil, fmt.Errorf("%v: %s", err, line)
		}
		rs = append(rs, x)
	}
	return rs, sc.Err()
}

// ReadPreloads reads the JSON lines bench/server -preload-report writes.
func ReadPreloads(r io.Reader) ([]Preload, error) {
	var ps []Preload
	dec := json.NewDecoder(r)
	for dec.More() {
		var p Preload
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// Cell names one cell of a table: a contender on an endpoint, at a point of
// a scale run (Label; empty in bench/run.sh's runs).
type Cell struct{ Label, Contender, Endpoint string }

// CellOf returns the cell r was measured in.
func CellOf(r Result) Cell { return Cell{r.Label, r.Contender, r.Endpoint} }

// Medians groups rs by cell and returns each cell's Median, with the cells
// in the order they were first measured.
func Medians(rs []Result) (map[Cell]Result, []Cell) {
	runs := map[Cell][]Result{}
	var order []Cell
	for _, r := range rs {
		k := CellOf(r)
		if _, seen := runs[k]; !seen {
			order = append(order, k)
		}
		runs[k] = append(runs[k], r)
	}
	med := make(map[Cell]Result, len(runs))
	for k, v := range runs {
		med[k] = Median(v)
	}
	return med, order
}

// Median returns the median of each figure over the rounds of one cell (the
// mean of the middle two for an even count), errors summed.
func Median(rs []Result) Result {
	m := rs[0]
	m.Errors = 0
	for _, r := range rs {
		m.Errors += r.Errors
	}
	med := func(f func(Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return MedianOf(v)
	}
	m.RPS = med(func(r Result) float64 { return r.RPS })
	m.P50us = med(func(r Result) float64 { return r.P50us })
	m.P99us = med(func(r Result) float64 { return r.P99us })
	m.RedisCmds = med(func(r Result) float64 { return r.RedisCmds })
	m.RoundTrips = med(func(r Result) float64 { return r.RoundTrips })
	m.Sent = med(func(r Result) float64 { return r.Sent })
	m.ServerCPUus = med(func(r Result) float64 { return r.ServerCPUus })
	m.RedisCPUus = med(func(r Result) float64 { return r.RedisCPUus })
	m.RedisInBytes = med(func(r Result) float64 { return r.RedisInBytes })
	m.RedisOutBytes = med(func(r Result) float64 { return r.RedisOutBytes })
	m.NodeCmds = slices.Clone(m.NodeCmds)
	for i := range m.NodeCmds {
		m.NodeCmds[i] = med(func(r Result) float64 {
			if i < len(r.NodeCmds) {
				return r.NodeCmds[i]
			}
			return 0
		})
	}
	return m
}

// MedianOf returns the median of v (the mean of the middle two for an even
// count), 0 for none; it sorts v.
func MedianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
