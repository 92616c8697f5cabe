package verdict

import (
	"strings"
	"testing"

	"github.com/seed58a3dad2/session/bench/internal/gobench"
	"github.com/seed58a3dad2/session/bench/internal/result"
)

// cell is one contender's figures on one endpoint.
type cell struct {
	contender, endpoint     string
	rps, cpu, redisCPU, p99 float64
}

func mainOf(cells ...cell) map[result.Cell]result.Result {
	m := map[result.Cell]result.Result{}
	for _, c := range cells {
		m[result.Cell{Contender: c.contender, Endpoint: c.endpoint}] = result.Result{
			Contender: c.contender, Endpoint: c.endpoint, RPS: c.rps, ServerCPUus: c.cpu, RedisCPUus: c.redisCPU, P99us: c.p99}
	}
	return m
}

// row returns the row whose target starts with prefix.
func row(t *testing.T, rows []Row, prefix string) Row {
	t.Helper()
	for _, r := range rows {
		if strings.HasPrefix(r.Target, prefix) {
			return r
		}
	}
	t.Fatalf("no row %q in %+v", prefix, rows)
	return Row{}
}

func TestAheadOfPeers(t *testing.T) {
	var cells []cell
	for _, e := range endpoints {
		cells = append(cells,
			cell{"session-redis", e, 20000, 40, 14, 4000},
			cell{"scs", e, 19000, 45, 15, 4500},
			cell{"gorilla", e, 19900, 41, 15, 4400})
		farm := cell{"session-redis-farm", e, 19000, 50, 20, 5000}
		if e != "/login" {
			farm.rps, farm.cpu = 21000, 39
		}
		cells = append(cells, farm)
	}
	rows := Compute(Inputs{Main: mainOf(cells...)})

	off := row(t, rows, "1. every endpoint ahead of scs and gorilla in req/s, farm features off")
	if off.Verdict != Met || !strings.Contains(off.Measured, "`/login` 1.01") {
		t.Errorf("farm off, 20000 against the faster peer's 19900 everywhere: got %v %q, want met with `/login` 1.01", off.Verdict, off.Measured)
	}
	on := row(t, rows, "1. every endpoint ahead of scs and gorilla in req/s, farm features on")
	if on.Verdict != Missed || !strings.Contains(on.Measured, "**`/login` 0.95**") || on.See != SeeGaps {
		t.Errorf("farm on, 19000 against 19900 on /login: got %v %q see %q, want missed, /login 0.95 in bold, see %q", on.Verdict, on.Measured, on.See, SeeGaps)
	}
	onCPU := row(t, rows, "1. ... and in server CPU per request, farm features on")
	if onCPU.Verdict != Missed || !strings.Contains(onCPU.Measured, "**`/login` 1.22**") {
		t.Errorf("farm on, 50 µs against the cheaper peer's 41 on /login: got %v %q, want missed with /login 1.22", onCPU.Verdict, onCPU.Measured)
	}
	tail := row(t, rows, "6. p99 next to req/s in every cell")
	if tail.Verdict != Missed || !strings.Contains(tail.Measured, "session-redis-farm `/login` 5000 against 4400 µs") {
		t.Errorf("the farm's p99 5000 against 4400: got %v %q, want missed naming that cell", tail.Verdict, tail.Measured)
	}
}

func TestFloorRatios(t *testing.T) {
	rows := Compute(Inputs{Main: mainOf(
		cell{"floor", "/read", 20000, 30, 12, 3000},
		cell{"session-redis", "/read", 19000, 32, 13, 3000}, // 0.95: met, at the bound
		cell{"floor", "/writeonly", 20000, 30, 12, 3000},
		cell{"session-redis", "/writeonly", 18980, 33, 16, 3000}, // 0.949: missed
	)})
	if r := row(t, rows, "2. read-only"); r.Verdict != Met || !strings.HasPrefix(r.Measured, "0.95x") {
		t.Errorf("read at 0.95x the floor: got %v %q, want met", r.Verdict, r.Measured)
	}
	if r := row(t, rows, "2. write-only"); r.Verdict != Missed || r.See != SeeGaps {
		t.Errorf("write at 0.949x the floor: got %v see %q, want missed, see %q", r.Verdict, r.See, SeeGaps)
	}
	if r := row(t, rows, "2. new session"); r.Verdict != NotMeasured || !strings.Contains(r.Measured, "/login") {
		t.Errorf("no /login cell: got %v %q, want not measured naming /login", r.Verdict, r.Measured)
	}
	if r := row(t, rows, "3. ... and within 1.3x"); r.Verdict != Missed || !strings.Contains(r.Measured, "**`/writeonly` 1.33**") {
		t.Errorf("Redis CPU 16 against the floor's 12: got %v %q, want missed with /writeonly 1.33", r.Verdict, r.Measured)
	}
}

func TestNotMeasuredSaysWhy(t *testing.T) {
	rows := Compute(Inputs{MainWhy: "bench/run.sh did not run", MicroWhy: "MICRO=0", MemoryWhy: "MEMSIZE_N=0", ScaleWhy: "SCALE=0"})
	for _, r := range rows {
		if r.Verdict != NotMeasured || r.Measured == "" {
			t.Errorf("%s: got %v %q, want not measured with a reason", r.Target, r.Verdict, r.Measured)
		}
	}
	if r := row(t, rows, "4. memstore: heap"); r.Measured != "MEMSIZE_N=0" {
		t.Errorf("got %q, want the memory reason", r.Measured)
	}
}

func TestMemstore(t *testing.T) {
	rows := Compute(Inputs{
		Micro: []gobench.Bench{
			{Name: "Middleware/read/serial", Runs: 5, NsOp: 1290, NsMin: 1230, NsMax: 1370, AllocsOp: 6},
			{Name: "Middleware/noop/serial", Runs: 5, NsOp: 700, AllocsOp: 3},
		},
		Memory: []result.MemSize{{Store: "memstore", Bytes: 243, Sessions: 100000}},
	})
	for _, tt := range []struct {
		prefix string
		want   Verdict
		shows  string
	}{
		{"4. memstore: a read of one of 1024 sessions ≤ 1.0 µs", Missed, "1.29 µs median of 5 runs (1.23–1.37)"},
		{"4. memstore: a read ≤ 6 allocations", Met, "6 allocs/op"},
		{"4. memstore: a no-op request", Missed, "3 allocs/op"},
		{"4. memstore: heap per session", Met, "243 B over 100000 sessions"},
	} {
		r := row(t, rows, tt.prefix)
		if r.Verdict != tt.want || !strings.Contains(r.Measured, tt.shows) {
			t.Errorf("%s: got %v %q, want %v showing %q", tt.prefix, r.Verdict, r.Measured, tt.want, tt.shows)
		}
	}
}

func TestScalePoints(t *testing.T) {
	med := func(labels ...string) map[result.Cell]result.Result {
		m := map[result.Cell]result.Result{}
		for _, l := range labels {
			m[result.Cell{Label: l, Contender: "session-redis", Endpoint: "/read"}] = result.Result{Label: l, P99us: 100}
			m[result.Cell{Label: l, Contender: "scs", Endpoint: "/read"}] = result.Result{Label: l, P99us: 90}
		}
		return m
	}
	rows := Compute(Inputs{Scale: map[string]map[result.Cell]result.Result{
		"sessions": med("10000", "100000", "1000000"),
		"keys":     med("1", "10"),
	}})
	if r := row(t, rows, "5. how cost grows: sessions"); r.Verdict != Met {
		t.Errorf("every point of sessions: got %v %q, want met", r.Verdict, r.Measured)
	}
	if r := row(t, rows, "5. how cost grows: keys"); r.Verdict != NotMeasured || !strings.Contains(r.Measured, "not measured: 100, 256") {
		t.Errorf("keys without 100 and 256: got %v %q, want not measured naming them", r.Verdict, r.Measured)
	}
	if r := row(t, rows, "5. how cost grows: clients"); r.Verdict != NotMeasured {
		t.Errorf("no clients table: got %v, want not measured", r.Verdict)
	}
	r := row(t, rows, "6. ... in the tables of how cost grows")
	if r.Verdict != Missed || !strings.Contains(r.Measured, "5 of 5 cells") || !strings.Contains(r.Measured, "keys 1: session-redis `/read` 100 against 90 µs") {
		t.Errorf("p99 100 against scs's 90 at every point: got %v %q, want 5 of 5 cells missed, keys apart from sessions", r.Verdict, r.Measured)
	}
}
