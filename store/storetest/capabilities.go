package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// The cases of an optional capability get it from the harness's store with
// one of these, which skip the case, naming the capability, when the store
// does not have it.

// capability returns h.Store as a T, the capability called name, or skips
// the case.
func capability[T any](t *testing.T, h Harness, name string) T {
	t.Helper()
	c, ok := h.Store.(T)
	if !ok {
		t.Skip("storetest: the store does not implement " + name)
	}
	return c
}

// indexer returns h.Store as a store.Indexer whose index is kept, or skips
// the case.
func indexer(t *testing.T, h Harness) store.Indexer {
	t.Helper()
	ix := capability[store.Indexer](t, h, "store.Indexer")
	if !ix.Indexed() {
		t.Skip("storetest: the store implements store.Indexer with its index switched off (Indexed reports false)")
	}
	return ix
}

// expirer returns h.Store as a store.Expirer, or skips the case. A store
// whose index is switched off has no Expirer either.
func expirer(t *testing.T, h Harness) store.Expirer {
	t.Helper()
	ex := capability[store.Expirer](t, h, "store.Expirer")
	skipUnindexed(t, h, "store.Expirer")
	return ex
}

// limiter returns h.Store as a store.Limiter, or skips the case. A store
// whose index is switched off has no Limiter either.
func limiter(t *testing.T, h Harness) store.Limiter {
	t.Helper()
	l := capability[store.Limiter](t, h, "store.Limiter")
	skipUnindexed(t, h, "store.Limiter")
	return l
}

// notifier returns h.Store as a store.Notifier, or skips the case. A
// Notifier needs no index.
func notifier(t *testing.T, h Harness) store.Notifier {
	t.Helper()
	return capability[store.Notifier](t, h, "store.Notifier")
}

// skipUnindexed skips the case when h.Store's index is switched off, which
// switches capability off too (its methods return store.ErrNotIndexed).
func skipUnindexed(t *testing.T, h Harness, capability string) {
	t.Helper()
	if ix, ok := h.Store.(store.Indexer); ok && !ix.Indexed() {
		t.Skipf("storetest: the store's index is switched off (store.Indexer.Indexed reports false), and %s with it", capability)
	}
}

// alsoIndexer returns h.Store as a store.Indexer whose index is kept, and
// whether it is one, for a case of another capability that checks what
// an Indexer says too when there is one.
func alsoIndexer(h Harness) (store.Indexer, bool) {
	ix, ok := h.Store.(store.Indexer)
	return ix, ok && ix.Indexed()
}

// alsoExpirer is alsoIndexer for store.Expirer.
func alsoExpirer(h Harness) (store.Expirer, bool) {
	ex, ok := h.Store.(store.Expirer)
	if ix, isIx := h.Store.(store.Indexer); isIx && !ix.Indexed() {
		return nil, false
	}
	return ex, ok
}

// clockTolerance is how far a time the store reports may be from the one a
// case expects: a real Redis keeps running while the case does, and the
// store may read a clock of its own (see Harness.Now).
const clockTolerance = 5 * time.Second

// A clock follows the store's time through a case: where it started and
// how far the case has advanced it since, so that the case can say when a
// session was created or accessed as an offset from its start.
type clock struct {
	h     Harness
	start time.Time     // the store's time when the case began; zero until known
	moved time.Duration // how far the case advanced the store's time since
}

// newClock starts a clock at the store's time, read from Harness.Now; when
// the harness has none, the first Info checked tells it.
func newClock(h Harness) *clock {
	c := &clock{h: h}
	if h.Now != nil {
		c.start = h.Now()
	}
	return c
}

// advance moves the store's time forward by d.
func (c *clock) advance(d time.Duration) {
	c.h.Advance(d)
	c.moved += d
}

// now returns the offset of the store's time from the case's start.
func (c *clock) now() time.Duration {
	return c.moved
}

// wantTimes fails the test unless info says the session was created at
// offset created, last accessed at accessed, and expires a ttl after that,
// each within clockTolerance. what names info in the failures.
func (c *clock) wantTimes(t *testing.T, what string, info store.Info, created, accessed time.Duration) {
	t.Helper()
	if c.start.IsZero() {
		if info.Created.IsZero() {
			t.Errorf("%s: got Created zero, want a time", what)
			return
		}
		c.start = info.Created.Add(-created)
	}
	c.wantTime(t, what+": Created", info.Created, created)
	c.wantTime(t, what+": LastAccess", info.LastAccess, accessed)
	c.wantTime(t, what+": Expires", info.Expires, accessed+ttl)
}

// wantTime fails the test unless got is within clockTolerance of the
// offset want from the case's start.
func (c *clock) wantTime(t *testing.T, what string, got time.Time, want time.Duration) {
	t.Helper()
	w := c.start.Add(want)
	if d := got.Sub(w); d < -clockTolerance || d > clockTolerance {
		t.Errorf("%s: got %v, want %v (the case's start %v), within %v", what, got, w, want, clockTolerance)
	}
}

// ids returns the IDs of infos, in their order.
func ids(infos []store.Info) []string {
	out := make([]string, len(infos))
	for i, info := range infos {
		out[i] = info.ID
	}
	return out
}

// sameIDs reports whether got and want hold the same IDs, in any order,
// each once.
func sameIDs(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}
