package migratestore_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/memstore"
	"github.com/seed58a3dad2/session/migratestore"
	"github.com/seed58a3dad2/session/store"
)

// hooked is a memstore that logs the store.Store and store.Indexer calls it
// gets, as "<name>.<Method>", and runs the gates a test set on them, which
// pause a call or fail it: how the tests interleave calls of concurrent
// movers deterministically. Its other capabilities are memstore's.
type hooked struct {
	*memstore.Store
	name  string   // "old" or "new"
	calls *callLog // shared by the two stores of a migration

	mu    sync.Mutex // protects gates
	gates []*gate

	created atomic.Int32 // Creates that stored a session
}

// A callLog is the calls that the stores of a migration got, in order.
type callLog struct {
	mu    sync.Mutex // protects calls
	calls []string
}

func (l *callLog) add(call string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
}

// take returns the calls logged since the last take, and forgets them.
func (l *callLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	calls := l.calls
	l.calls = nil
	return calls
}

// A gate stops the first call of one method for one session ID, before it
// reaches the memstore: it fails it with err if set, else it pauses it
// until release is called.
type gate struct {
	method, id string
	err        error
	reached    chan struct{} // closed when the call arrives
	released   chan struct{} // closed by release
	fired      bool
}

// release lets the paused call go on.
func (g *gate) release() { close(g.released) }

// wait waits until the call arrived at the gate, or fails the test after ten
// seconds.
func (g *gate) wait(t *testing.T) {
	t.Helper()
	select {
	case <-g.reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("the %s of %s never came", g.method, g.id)
	}
}

// pause sets a gate that pauses the next call of method for id.
func (h *hooked) pause(method, id string) *gate {
	g := &gate{method: method, id: id, reached: make(chan struct{}), released: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gates = append(h.gates, g)
	return g
}

// fail sets a gate that fails the next call of method for id with err.
func (h *hooked) fail(method, id string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gates = append(h.gates, &gate{method: method, id: id, err: err})
}

// enter logs a call and runs its gate, if any.
func (h *hooked) enter(method, id string) error {
	h.calls.add(h.name + "." + method)
	h.mu.Lock()
	var g *gate
	for _, c := range h.gates {
		if !c.fired && c.method == method && c.id == id {
			g, c.fired = c, true
			break
		}
	}
	h.mu.Unlock()
	switch {
	case g == nil:
		return nil
	case g.err != nil:
		return g.err
	}
	close(g.reached)
	<-g.released
	return nil
}

func (h *hooked) Load(ctx context.Context, id string, ttl time.Duration) (map[string][]byte, bool, error) {
	if err := h.enter("Load", id); err != nil {
		return nil, false, err
	}
	return h.Store.Load(ctx, id, ttl)
}

func (h *hooked) Create(ctx context.Context, id string, values map[string][]byte, ttl time.Duration, maxKeys int) error {
	if err := h.enter("Create", id); err != nil {
		return err
	}
	err := h.Store.Create(ctx, id, values, ttl, maxKeys)
	if err == nil {
		h.created.Add(1)
	}
	return err
}

func (h *hooked) Update(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if err := h.enter("Update", id); err != nil {
		return false, err
	}
	return h.Store.Update(ctx, id, d, ttl, maxKeys)
}

func (h *hooked) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	if err := h.enter("Apply", id); err != nil {
		return nil, false, err
	}
	return h.Store.Apply(ctx, id, d, ttl, maxKeys)
}

func (h *hooked) Move(ctx context.Context, from, to string, d store.Delta, ttl time.Duration, maxKeys int) (bool, error) {
	if err := h.enter("Move", from); err != nil {
		return false, err
	}
	return h.Store.Move(ctx, from, to, d, ttl, maxKeys)
}

func (h *hooked) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if err := h.enter("Touch", id); err != nil {
		return false, err
	}
	return h.Store.Touch(ctx, id, ttl)
}

func (h *hooked) Delete(ctx context.Context, id string) (bool, error) {
	if err := h.enter("Delete", id); err != nil {
		return false, err
	}
	return h.Store.Delete(ctx, id)
}

func (h *hooked) Peek(ctx context.Context, id string) (store.Record, bool, error) {
	if err := h.enter("Peek", id); err != nil {
		return store.Record{}, false, err
	}
	return h.Store.Peek(ctx, id)
}

func (h *hooked) Remove(ctx context.Context, id string) (store.Info, bool, error) {
	if err := h.enter("Remove", id); err != nil {
		return store.Info{}, false, err
	}
	return h.Store.Remove(ctx, id)
}

// A rig is a migration between two hooked memstores on a fake clock.
type rig struct {
	t        *testing.T
	clock    *fakeclock.Clock
	old, new *hooked
	log      *callLog
	s        *migratestore.Store
}

// newRig returns a rig whose Store has cfg (Now is the rig's clock).
func newRig(t *testing.T, cfg migratestore.Config) *rig {
	clock := fakeclock.New()
	calls := &callLog{}
	r := &rig{
		t:     t,
		clock: clock,
		log:   calls,
		old:   &hooked{Store: newMem(t, clock), name: "old", calls: calls},
		new:   &hooked{Store: newMem(t, clock), name: "new", calls: calls},
	}
	cfg.Now = clock.Now
	r.s = migratestore.New(r.old, r.new, cfg)
	return r
}

// ttl is the time to live of the sessions of these tests.
const ttl = 20 * time.Minute

// plant stores a session with kv (key, value pairs) in the old store, as if
// it had been created before the migration, and returns its ID.
func (r *rig) plant(kv ...string) string {
	r.t.Helper()
	id := newID()
	if err := r.old.Store.Create(r.t.Context(), id, values(kv...), ttl, 0); err != nil {
		r.t.Fatalf("Create in the old store: %v", err)
	}
	return id
}

// where returns which stores hold session id live: "old", "new", "both" or
// "neither".
func (r *rig) where(id string) string {
	r.t.Helper()
	_, inOld, _ := r.old.Store.Peek(r.t.Context(), id)
	_, inNew, _ := r.new.Store.Peek(r.t.Context(), id)
	switch {
	case inOld && inNew:
		return "both"
	case inOld:
		return "old"
	case inNew:
		return "new"
	}
	return "neither"
}

// wantWhere fails the test unless session id is where want says (see
// where).
func (r *rig) wantWhere(id, want, when string) {
	r.t.Helper()
	if got := r.where(id); got != want {
		r.t.Errorf("%s: session in %s store(s), want %s", when, got, want)
	}
}

// calls returns the calls both stores got since the last call of calls,
// in order, and forgets them.
func (r *rig) calls() []string { return r.log.take() }

// async runs fn on a goroutine and returns a channel that is closed when
// it returned.
func async(fn func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	return done
}

// await waits for done, or fails the test after ten seconds.
func await(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never returned", what)
	}
}

var idCounter struct {
	sync.Mutex
	n int
}

// newID returns a new session ID shaped like the middleware's: 22
// base64url characters.
func newID() string {
	idCounter.Lock()
	defer idCounter.Unlock()
	idCounter.n++
	return fmt.Sprintf("Test%018d", idCounter.n)
}

// values builds a value map from key, value pairs.
func values(kv ...string) map[string][]byte {
	m := make(map[string][]byte, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

// format prints a value map with sorted keys.
func format(m map[string][]byte) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", k, m[k])
	}
	return "{" + b.String() + "}"
}
