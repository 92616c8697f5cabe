package gobench

import (
	"strings"
	"testing"
)

const output = `goos: linux
goarch: amd64
pkg: github.com/seed58a3dad2/session
BenchmarkMiddleware/read/serial-2         	  900000	      1300 ns/op	    1242 B/op	       6 allocs/op
BenchmarkMiddleware/read/serial-2         	  900000	      1200 ns/op	    1242 B/op	       6 allocs/op
BenchmarkMiddleware/read/serial-2         	  900000	      1500 ns/op	    1242 B/op	       6 allocs/op
BenchmarkMiddleware/noop/parallel-2       	 2000000	       600 ns/op	     832 B/op	       2 allocs/op
BenchmarkMiddlewareRedis/read/serial
    bench_test.go:12: a log line
PASS
ok  	github.com/seed58a3dad2/session	12.3s
`

func TestParse(t *testing.T) {
	got, err := Parse(strings.NewReader(output))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d benchmarks %+v, want 2", len(got), got)
	}
	read := got[0]
	if read.Name != "Middleware/read/serial" || read.Runs != 3 {
		t.Errorf("got name %q, %d runs, want Middleware/read/serial, 3", read.Name, read.Runs)
	}
	if read.NsOp != 1300 || read.NsMin != 1200 || read.NsMax != 1500 {
		t.Errorf("got ns/op %v (%v-%v), want the median 1300 (1200-1500)", read.NsOp, read.NsMin, read.NsMax)
	}
	if read.AllocsOp != 6 || read.BytesOp != 1242 {
		t.Errorf("got %v allocs, %v B, want 6 and 1242", read.AllocsOp, read.BytesOp)
	}
	if got[1].Name != "Middleware/noop/parallel" || got[1].AllocsOp != 2 {
		t.Errorf("got %+v, want Middleware/noop/parallel with 2 allocs", got[1])
	}
}
