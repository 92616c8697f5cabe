// Command server serves one benchmark contender on a loopback address. Every
// contender answers the same endpoints:
//
//	/login      a new session holding "user" and "n"
//	/read       reads "user"
//	/write      increments "n" (a read, then a write)
//	/writeonly  sets "n" without reading it (a pure write)
//	/noop       behind the middleware, never touches the session
//
// With -preload N it first fills the contender's store with N sessions and
// writes a cookie for each to -tokens (preload.go), for bench/scale.sh. With
// -cluster it talks to a Redis Cluster instead of -redis.
//
// and, outside any middleware, /_stats answers the round trips and commands
// its Redis client has sent so far, counted by a go-redis hook (for the SQL
// contenders, sql.go: the statements its database driver was sent), and the
// CPU time the process has used; /_pprof/profile takes a CPU profile of
// the contender under load (net/http/pprof's); /_reset replaces the contender with a
// fresh one (a new Manager, an empty memstore, the SQL contenders' rows
// deleted) and collects the garbage, so that each cell of ../run.sh starts
// as the first did (run.sh empties Redis with FLUSHALL besides). See
// ../run.sh and ../../BENCHMARKS.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	gsessions "github.com/gorilla/sessions"
	gredisstore "github.com/rbcervilla/redisstore/v9"
	"github.com/redis/go-redis/v9"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/redisstore"
)

// idleTimeout is the sliding expiry every contender is configured with.
const idleTimeout = 20 * time.Minute

// An instance is a contender ready to serve: its handler, what stops its
// background work (a Manager's reaper, a store's sweeper), and for
// session-mem its store, which -preload fills.
type instance struct {
	h     http.Handler
	close func()
	mem   *memstore.Store
}

// contenders maps a name to the function that builds an instance of it.
var contenders = map[string]func(redis.UniversalClient) instance{
	"bare":  handlerOnly(bare),
	"floor": handlerOnly(floor),
	"session-redis": func(c redis.UniversalClient) instance {
		return ours(session.Config{Store: redisstore.New(c, redisstore.Config{Application: "bench"})})
	},
	"session-redis-farm": oursFarm,
	"session-mem": func(redis.UniversalClient) instance {
		st := memstore.New(memstore.Config{})
		in := ours(session.Config{Store: st})
		stop := in.close
		in.close = func() { stop(); _ = st.Close() }
		in.mem = st
		return in
	},
	"scs":          handlerOnly(scsRedis),
	"gorilla":      handlerOnly(gorillaRedis),
	"hash-hgetall": handlerOnly(hashHGetAll),
	"hash-hmget":   handlerOnly(hashHMGet),
}

// handlerOnly makes an instance of a contender with no background work.
func handlerOnly(build func(redis.UniversalClient) http.Handler) func(redis.UniversalClient) instance {
	return func(c redis.UniversalClient) instance { return instance{h: build(c), close: func() {}} }
}

func main() {
	name := flag.String("contender", "", "bare, floor, session-redis, session-redis-farm, session-mem, scs, gorilla, hash-hgetall, hash-hmget, or on SQL: session-sqlite, scs-sqlite, floor-sqlite, session-pg, scs-pg, floor-pg")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	redisAddr := flag.String("redis", "", "Redis address, host:port")
	pool := flag.Int("pool", 64, "go-redis PoolSize (database/sql's most open connections for the SQL contenders, at most 4 per core on PostgreSQL: see sql.go), the same for every contender")
	sqlitePath := flag.String("sqlite", "", "SQLite database file, for the -sqlite contenders")
	pgDSN := flag.String("pg", "", "PostgreSQL connection string, for the -pg contenders")
	clusterAddrs := flag.String("cluster", "", "Redis Cluster seed addresses, comma-separated, instead of -redis")
	preloadN := flag.Int("preload", 0, "sessions to store before serving (session-redis, session-mem, floor, scs, gorilla, hash-*)")
	preloadKeys := flag.Int("keys", 2, "values in each preloaded session")
	tokens := flag.String("tokens", "", "file to write the preloaded sessions' cookies to, one a line")
	report := flag.String("preload-report", "", "file to append the preload's JSON line to (memory per session)")
	label := flag.String("label", "", "the point of a scale run, copied to the preload report")
	flag.Parse()

	if sc, ok := sqlContenders[*name]; ok {
		db, stats := openSQL(sc.dialect, *sqlitePath, *pgDSN, *pool)
		cur := newCurrent(func() instance {
			if err := sc.wipe(db); err != nil {
				log.Fatalf("%s: /_reset: %v", *name, err)
			}
			return sc.build(db, sc.dialect)
		})
		serve(*name, *addr, stats, cur)
		return
	}
	build, ok := contenders[*name]
	if !ok {
		log.Fatalf("unknown -contender %q", *name)
	}
	// ContextTimeoutEnabled, which redisstore.New requires, is set for every
	// contender alike, as PoolSize is.
	var client redis.UniversalClient
	switch {
	case *clusterAddrs != "":
		client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(*clusterAddrs, ","), PoolSize: *pool, MinIdleConns: 8, ContextTimeoutEnabled: true})
	case *redisAddr != "":
		client = redis.NewClient(&redis.Options{Addr: *redisAddr, PoolSize: *pool, MinIdleConns: 8, ContextTimeoutEnabled: true})
	default:
		log.Fatal("-redis or -cluster is required (run.sh and scale.sh start private servers)")
	}
	var hook counter
	client.AddHook(&hook)
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		log.Fatalf("redis %s%s: %v", *redisAddr, *clusterAddrs, err)
	}

	cur := newCurrent(func() instance { return build(client) })
	if *preloadN > 0 {
		rep, err := preload(ctx, *name, client, cur.Load().mem, *preloadN, *preloadKeys, *tokens)
		if err != nil {
			log.Fatal(err)
		}
		rep.Label = *label
		if err := appendJSON(*report, rep); err != nil {
			log.Fatal(err)
		}
		log.Printf("%s: preloaded %d sessions of %d values in %.1fs", *name, rep.Sessions, rep.Keys, rep.Seconds)
	}
	serve(*name, *addr, &hook, cur)
}

// current serves the contender's current instance; a request to /_reset
// replaces it with a fresh one. Resetting while requests are served is
// allowed but pointless: run.sh resets between cells, when none are.
type current struct {
	atomic.Pointer[instance]
	build func() instance
	mu    sync.Mutex // serializes resets
}

func newCurrent(build func() instance) *current {
	c := &current{build: build}
	in := build()
	c.Store(&in)
	return c
}

func (c *current) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.Load().h.ServeHTTP(w, r) }

// reset stops the current instance, builds a new one and collects the
// garbage the old one leaves, so that the next cell starts with the heap
// the first cell had: memstore's sessions of earlier cells made the
// collector scan hundreds of thousands of them on every cycle.
func (c *current) reset(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Load().close()
	in := c.build()
	c.Store(&in)
	runtime.GC()
	debug.FreeOSMemory()
	reply(w, "ok")
}

// appendJSON appends v as one JSON line to the file name; no name, no file.
func appendJSON(name string, v any) error {
	if name == "" {
		return nil
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// serve serves the contender cur on addr, with /_stats and /_reset beside
// it, until the process is killed.
func serve(name, addr string, stats http.Handler, cur *current) {
	mux := http.NewServeMux()
	mux.Handle("/_stats", stats)
	mux.HandleFunc("/_reset", cur.reset)
	// CPU profiles of a contender under load, for BENCHMARKS.md's
	// explanations: go tool pprof 'http://ADDR/_pprof/profile?seconds=5'.
	mux.HandleFunc("/_pprof/profile", pprof.Profile)
	mux.Handle("/", cur)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	log.Printf("%s listening on %s", name, ln.Addr())
	log.Fatal(srv.Serve(ln))
}

// reply writes a small text body, with an explicit Content-Type so that no
// contender pays for content sniffing.
func reply(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, body)
}

func fail(w http.ResponseWriter, why string) {
	http.Error(w, why, http.StatusInternalServerError)
}

// bare has no sessions at all: the cost of net/http alone.
func bare(redis.UniversalClient) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) { reply(w, "ann") })
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) { reply(w, "1") })
	mux.HandleFunc("/writeonly", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) { reply(w, "1") })
	mux.HandleFunc("/take", func(w http.ResponseWriter, r *http.Request) { reply(w, "") })
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	return mux
}

// floor is the least a Redis-backed session can cost: an unsigned random ID
// in a cookie and exactly one go-redis command per request (SET, GET, INCR,
// SET, INCR, GETDEL; nothing for /noop).
func floor(c redis.UniversalClient) http.Handler {
	const cookie = "fid"
	id := func(r *http.Request) (string, bool) {
		ck, err := r.Cookie(cookie)
		if err != nil || ck.Value == "" {
			return "", false
		}
		return ck.Value, true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		v := base64.RawURLEncoding.EncodeToString(b[:])
		if err := c.Set(r.Context(), "floor:"+v+":user", "ann", idleTimeout).Err(); err != nil {
			fail(w, err.Error())
			return
		}
		http.SetCookie(w, &http.Cookie{Name: cookie, Value: v, Path: "/", MaxAge: int(idleTimeout / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
		reply(w, "ok")
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		v, _ := id(r)
		user, err := c.Get(r.Context(), "floor:"+v+":user").Result()
		if err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, user)
	})
	// One INCR is the floor of a read then write and of an increment alike.
	incr := func(w http.ResponseWriter, r *http.Request) {
		v, _ := id(r)
		n, err := c.Incr(r.Context(), "floor:"+v+":n").Result()
		if err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, strconv.FormatInt(n, 10))
	}
	mux.HandleFunc("/write", incr)
	mux.HandleFunc("/writeonly", func(w http.ResponseWriter, r *http.Request) {
		v, _ := id(r)
		if err := c.Set(r.Context(), "floor:"+v+":n", 7, idleTimeout).Err(); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, "ok")
	})
	mux.HandleFunc("/add", incr)
	mux.HandleFunc("/take", func(w http.ResponseWriter, r *http.Request) {
		v, _ := id(r)
		flash, err := c.GetDel(r.Context(), "floor:"+v+":flash").Result()
		if err != nil && err != redis.Nil {
			fail(w, err.Error())
			return
		}
		reply(w, flash)
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	return mux
}

// benchKey is a fixed signing key: the benchmark needs no secrecy.
var benchKey, _ = hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")

// ours is this library on cfg's store with cfg's other settings and
// otherwise its defaults (20-minute idle timeout, touch throttled to once a
// minute, JSON values, cookie and header transport).
func ours(cfg session.Config) instance {
	cfg.Keys = []session.Key{{Hash: benchKey}}
	cfg.IdleTimeout = idleTimeout
	m, err := session.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if s.Set("user", "ann") != nil || s.Set("n", 0) != nil {
			fail(w, "set")
			return
		}
		reply(w, "ok")
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		user, ok, err := session.Get[string](session.FromContext(r.Context()), "user")
		if err != nil {
			return // the middleware answers 503
		}
		if !ok {
			fail(w, "no user")
			return
		}
		reply(w, user)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		n, _, err := session.Get[int](s, "n")
		if err != nil {
			return
		}
		if err := s.Set("n", n+1); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, strconv.Itoa(n+1))
	})
	mux.HandleFunc("/writeonly", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromContext(r.Context()).Set("n", 7); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, "ok")
	})
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		n, err := session.FromContext(r.Context()).Add("n", 1)
		if err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, strconv.FormatInt(n, 10))
	})
	mux.HandleFunc("/take", func(w http.ResponseWriter, r *http.Request) {
		flash, _, err := session.Take[string](session.FromContext(r.Context()), "flash")
		if err != nil {
			return // the middleware answers 503
		}
		reply(w, flash)
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	return instance{h: m.Handler(mux), close: func() { _ = m.Close() }}
}

// oursFarm is this library as a server farm on Redis runs it (the README's
// "Running a farm"): redisstore with Index, which the farm features need,
// and the features a farm turns on: MaxSessions (a public server's guard
// against sessions opened in a loop; high enough never to refuse here),
// MaxUserSessions, PublishEvents, and OnExpired and OnDestroyed hooks (the
// reaper runs every 5 seconds, the default). Of these, the endpoints pay
// for Index on every write and touch and for MaxSessions on /login (one
// Reserve before the Create); MaxUserSessions costs only at Session.Login,
// and PublishEvents and OnDestroyed only when a session ends, which no
// endpoint does.
func oursFarm(c redis.UniversalClient) instance {
	return ours(session.Config{
		Store:           redisstore.New(c, redisstore.Config{Application: "bench", Index: true}),
		MaxSessions:     10_000_000,
		MaxUserSessions: 10,
		PublishEvents:   true,
		OnExpired:       func(context.Context, session.Expiry) error { return nil },
		OnDestroyed:     func(context.Context, session.Ended) error { return nil },
	})
}

// scsRedis is alexedwards/scs v2 on its go-redis store (goredisstore: the
// same driver as ours; its redisstore uses redigo), with an IdleTimeout like
// ours. With an IdleTimeout, scs loads the session (GET) and writes it back
// whole (SET) on every request that carries a token.
func scsRedis(c redis.UniversalClient) http.Handler {
	single, ok := c.(*redis.Client)
	if !ok {
		log.Fatal("scs's goredisstore takes a single Redis, not a Cluster")
	}
	return scsWith(goredisstore.New(single))
}

// scsWith is scs with an IdleTimeout like ours on st.
func scsWith(st scs.Store) http.Handler {
	sm := scs.New()
	sm.Store = st
	sm.IdleTimeout = idleTimeout
	sm.Cookie.Name = "session"
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user", "ann")
		sm.Put(r.Context(), "n", 0)
		reply(w, "ok")
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		user := sm.GetString(r.Context(), "user")
		if user == "" {
			fail(w, "no user")
			return
		}
		reply(w, user)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "n") + 1
		sm.Put(r.Context(), "n", n)
		reply(w, strconv.Itoa(n))
	})
	mux.HandleFunc("/writeonly", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "n", 7)
		reply(w, "ok")
	})
	// scs has no atomic increment: the read-modify-write of /write, whose
	// concurrent requests can lose counts.
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "n") + 1
		sm.Put(r.Context(), "n", n)
		reply(w, strconv.Itoa(n))
	})
	// PopString removes the value from the loaded session, saved whole at
	// the end: two concurrent requests can both show it.
	mux.HandleFunc("/take", func(w http.ResponseWriter, r *http.Request) {
		reply(w, sm.PopString(r.Context(), "flash"))
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	return sm.LoadAndSave(mux)
}

// gorillaRedis is gorilla/sessions on rbcervilla/redisstore/v9. Gorilla has
// no middleware and no sliding expiry of its own: its docs have handlers call
// Save, which rewrites the whole session (SET with the MaxAge as TTL). The
// middleware below does what a user wanting a 20-minute idle timeout writes:
// Get the session (GET) before the handler, Save it just before the response
// starts, on every request.
func gorillaRedis(c redis.UniversalClient) http.Handler {
	rs, err := gredisstore.NewRedisStore(context.Background(), c)
	if err != nil {
		log.Fatal(err)
	}
	rs.KeyPrefix("gsession:")
	rs.Options(gsessions.Options{Path: "/", MaxAge: int(idleTimeout / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	get := func(r *http.Request) *gsessions.Session {
		s, _ := r.Context().Value(gorillaKey{}).(*gsessions.Session)
		return s
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := get(r)
		s.Values["user"] = "ann"
		s.Values["n"] = 0
		reply(w, "ok")
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		user, _ := get(r).Values["user"].(string)
		if user == "" {
			fail(w, "no user")
			return
		}
		reply(w, user)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		s := get(r)
		n, _ := s.Values["n"].(int)
		s.Values["n"] = n + 1
		reply(w, strconv.Itoa(n+1))
	})
	mux.HandleFunc("/writeonly", func(w http.ResponseWriter, r *http.Request) {
		get(r).Values["n"] = 7
		reply(w, "ok")
	})
	// gorilla has no atomic increment either: /write's read-modify-write.
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		s := get(r)
		n, _ := s.Values["n"].(int)
		s.Values["n"] = n + 1
		reply(w, strconv.Itoa(n+1))
	})
	// Flashes reads and removes the session's flashes, saved whole at the
	// end: two concurrent requests can both show them.
	mux.HandleFunc("/take", func(w http.ResponseWriter, r *http.Request) {
		flash := ""
		if f := get(r).Flashes(); len(f) > 0 {
			flash, _ = f[0].(string)
		}
		reply(w, flash)
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := rs.Get(r, "session")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), gorillaKey{}, s))
		sw := &gorillaWriter{ResponseWriter: w, r: r, s: s}
		mux.ServeHTTP(sw, r)
		if !sw.saved {
			sw.save()
		}
	})
}

type gorillaKey struct{}

// gorillaWriter saves the gorilla session just before the response starts,
// as scs's and our middleware do.
type gorillaWriter struct {
	http.ResponseWriter
	r     *http.Request
	s     *gsessions.Session
	saved bool
}

func (w *gorillaWriter) save() {
	w.saved = true
	if err := w.s.Save(w.r, w.ResponseWriter); err != nil {
		log.Printf("gorilla save: %v", err)
	}
}

func (w *gorillaWriter) WriteHeader(code int) {
	if !w.saved {
		w.save()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *gorillaWriter) Write(b []byte) (int, error) {
	if !w.saved {
		w.save()
	}
	return w.ResponseWriter.Write(b)
}

// counter is a go-redis hook counting what the client sends: one round trip
// per command sent alone, one per pipeline; commands counted one by one. A
// script (EVALSHA) is one command here, however many commands it runs inside
// Redis (INFO commandstats counts those too).
type counter struct {
	roundTrips, commands atomic.Int64
}

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.roundTrips.Add(1)
		c.commands.Add(1)
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.roundTrips.Add(1)
		c.commands.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// ServeHTTP answers the counts as JSON, with the CPU time the process has
// used (user and system, all threads), which other load on the machine
// disturbs less than throughput.
func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"round_trips":%d,"commands":%d,"cpu_us":%d}`, c.roundTrips.Load(), c.commands.Load(), cpu.Microseconds())
}
