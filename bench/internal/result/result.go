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
	// RedisInBytes and RedisOutBytes are the bytes Redis read from and wrote
	// to its clients per request (INFO stats total_net_input_bytes and
	// total_net_output_bytes), summed over every node.
	RedisInBytes  float64 `json:"redis_in_bytes"`
	RedisOutBytes float64 `json:"redis_out_bytes"`
	// NodeCmds is RedisCmds for each node, in the order bench/load was given
	// them (a Cluster's masters); empty for a single Redis.
	NodeCmds []float64 `json:"node_cmds,omitempty"`
	// Label names the point of a scale run (bench/scale.sh), such as
	// "100000" sessions stored; empty in bench/run.sh's runs.
	Label string `json:"label,omitempty"`
}

// Preload is what bench/server reports after filling a store with sessions
// before a scale run: how long it took and what each session costs in
// memory.
type Preload struct {
	Contender string  `json:"contender"`
	Label     string  `json:"label"`
	Sessions  int     `json:"sessions"`
	Keys      int     `json:"keys"`
	Seconds   float64 `json:"seconds"`
	// RedisBytes is the growth of Redis's used_memory (all nodes) per
	// session, HeapBytes the server's Go heap growth after a GC per session
	// (memstore's sessions live there).
	RedisBytes float64 `json:"redis_bytes_per_session"`
	HeapBytes  float64 `json:"heap_bytes_per_session"`
}

// MemSize is one row of bench/memsize: what one session holding two small
// values costs a store in memory.
type MemSize struct {
	Store string `json:"store"`
	// Bytes is the growth per session: memstore's Go heap after a GC,
	// Redis's used_memory.
	Bytes float64 `json:"bytes_per_session"`
	// Usage is Redis's MEMORY USAGE of a key, averaged over sampled keys;
	// 0 for memstore.
	Usage    float64 `json:"memory_usage,omitempty"`
	Sessions int     `json:"sessions"`
}
