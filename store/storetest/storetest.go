package storetest

import (
	"testing"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Harness is one store under test, fresh for each subtest.
type Harness struct {
	// Store is the store under test. It must hold no sessions.
	Store store.Store
	// Advance moves the store's notion of time forward by d, so that
	// expiry can be tested without waiting: a fake clock for an in-memory
	// store, FastForward for miniredis, reduced TTLs for a real Redis.
	Advance func(d time.Duration)
}

// ttl is the time to live of sessions in the suite: long enough that a real
// Redis, whose clock keeps running during the test, never expires a session
// the test did not mean to expire.
const ttl = time.Hour

// Run runs the conformance suite, each case as a subtest <Topic>/<Case> of t
// (see the package documentation) with a fresh harness from newHarness. When
// a case fails, the sentence that explains it is logged after its failures.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, tp := range topics {
		t.Run(tp.name, func(t *testing.T) {
			for _, c := range tp.cases {
				t.Run(c.name, func(t *testing.T) {
					// Registered before the harness exists, so it runs
					// after the harness's cleanups, which may fail the
					// case too.
					t.Cleanup(func() {
						if t.Failed() {
							t.Logf("storetest: %s", c.explanation)
						}
					})
					c.test(t, newHarness(t))
				})
			}
		})
	}
}

// A topic is a group of cases, defined in the file of the same name:
// topic Update in update.go.
type topic struct {
	name  string // the t.Run name of the group: "Update"
	cases []testCase
}

// A testCase is one behaviour every store must have.
type testCase struct {
	// name is the t.Run name of the case within its topic: short,
	// CamelCase and stable, so that -run patterns keep working.
	name string
	// test is the case's function, named test<Topic><name> so that a
	// stack trace or a grep for the name leads to it.
	test func(t *testing.T, h Harness)
	// explanation is the behaviour in one sentence, logged when the case
	// fails.
	explanation string
}

// topics lists the suite, in the order it runs.
var topics = []topic{
	{"Basic", basicCases},
	{"Update", updateCases},
	{"Expiry", expiryCases},
	{"Limits", limitCases},
	{"Concurrency", concurrencyCases},
	{"Move", moveCases},
}
