// Package result is the record bench/load writes, one JSON line per run of
// a contender on an endpoint, and bench/report reads: one type, so the two
// programs cannot drift apart.
package result

// Result is one line of bench/load's output.
type Result struct {
	Contender   string  `json:"contender"`
	Endpoint    string  `json:"endpoint"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	RPS         float64 `json:"rps"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	// RedisCmds is INFO commandstats calls per request: every command Redis
	// executed, those inside Lua scripts included.
	RedisCmds float64 `json:"redis_cmds_per_req"`
	// RoundTrips and Sent come from the server's go-redis hook: round trips
	// per request (a pipeline is one) and commands sent per request (a
	// script is one).
	RoundTrips float64 `json:"round_trips_per_req"`
	Sent       float64 `json:"sent_per_req"`
	// ServerCPUus is the server process's CPU time (user and system) per
	// request, RedisCPUus redis-server's (INFO cpu), in microseconds.
	ServerCPUus float64 `json:"server_cpu_us"`
	RedisCPUus  float64 `json:"redis_cpu_us"`
	// Breakdown lists the executed commands per request, most frequent first.
	Breakdown string `json:"breakdown"`
}
