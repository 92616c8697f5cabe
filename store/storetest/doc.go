// Package storetest is the conformance suite for implementations of
// store.Store: not-found semantics, copies in and out, binary values and odd
// keys, the order in which Update and Move apply a Delta, expiry and what
// extends it, what Move leaves of the old ID, ErrExists, ErrTooManyKeys,
// atomicity under concurrent calls and canceled contexts. Each case gets a
// fresh Harness; sessions live for an hour and time moves only through
// Harness.Advance, in steps of minutes, so a store whose real clock keeps
// running (a real Redis) passes too. IDs are shaped like the middleware's,
// and Move is always given a new ID that shares the first character of the
// old one, as package store promises. A backend runs all of it with one
// line:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Harness {
//			clock := newFakeClock() // a clock the store reads
//			return storetest.Harness{Store: newStore(clock.Now), Advance: clock.Advance}
//		})
//	}
//
// The optional capabilities have a topic each, run for every store: Lender
// (a View holds what Load would return, and keeps it whatever happens to the
// session after), Indexer (Count, List, Peek, Remove, UserSessions and the
// index by user that follows store.UserKey), Expirer (claims, leases, Reap, retention, and an
// expired session that is gone for every other call), Limiter (exact counts
// under concurrent Reserves, and what stops a session counting) and
// Notifier (delivery, cancellation, one event at a time). A case of a
// capability skips, naming it, when the store does not implement its
// interface, or implements store.Indexer with Indexed reporting false; so a
// store without them passes with those topics skipped. Two Harness fields
// serve these cases only: Now, the store's clock, against which the times in
// store.Info are checked within a few seconds (without it they are checked
// against each other), and Retention, the Expirer's retention, without
// which its case skips. The Notifier's cases wait for events on channels,
// at most ten seconds each, and never sleep:
//
//	return storetest.Harness{
//		Store:     s,
//		Advance:   clock.Advance,
//		Now:       clock.Now,
//		Retention: time.Hour, // what s was configured with
//	}
//
// Each case is a subtest named <Topic>/<Case>, such as Update/Deleted, run
// by the function test<Topic><Case> (testUpdateDeleted) in the file named
// for its topic (update.go), where a table beside it holds the sentence that
// explains the case. That sentence is logged when the case fails:
//
//	--- FAIL: TestConformance/Update/Deleted (0.00s)
//	    update.go:65: Update({Clear:false Del:[] Set:map[a:[50]]}, maxKeys 0): got found=true, want false
//	    storetest.go:39: storetest: updating a deleted session reports not found and creates nothing
//
// Names are short and stable so that -run can pick a topic or a case:
//
//	go test -run 'TestConformance/Update/' ./memstore
//	go test -run 'TestConformance/Update/Deleted$' ./memstore
//
// A store whose TestConformance has levels of its own (redisstore runs the
// suite on several servers) puts a pattern for each level in front:
// -run 'TestConformance/on_miniredis/Update/Deleted$'. A harness can skip
// the cases a backend cannot run yet by their name, which the t passed to
// newHarness carries: t.Skip when t.Name() contains "/Move/".
package storetest
