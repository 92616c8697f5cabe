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
	// store, FastForward for miniredis, reduced TTLs for a real Redis. It
	// moves every clock the store reads, also the one its timestamps
	// (store.Info) and leases come from.
	Advance func(d time.Duration)

	// The fields below are needed by the cases of the optional
	// capabilities only (store.Indexer, store.Expirer, ...); their zero
	// value means "not needed" and is right for a store that has none.

	// Now returns the time on the store's clock, the one Advance moves and
	// store.Info's times come from. The cases compare those times with
	// it, within a few seconds, so a store on another machine may read
	// its own clock. Nil: the cases check the times against each other
	// only (Expires is LastAccess plus the ttl, Advance moves LastAccess
	// by what it advanced), taking Created as the store reports it.
	Now func() time.Time
	// Retention is how long the store's store.Expirer keeps an expired
	// session's values for a claimer (its configuration's retention). The
	// cases that need it skip when it is zero.
	Retention time.Duration
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
	{"Apply", applyCases},
	{"Expiry", expiryCases},
	{"Limits", limitCases},
	{"Concurrency", concurrencyCases},
	{"Move", moveCases},
	{"Lender", lenderCases},
	{"Indexer", indexerCases},
	{"Expirer", expirerCases},
	{"Limiter", limiterCases},
	{"Notifier", notifierCases},
}
