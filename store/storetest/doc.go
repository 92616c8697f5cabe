// Package storetest is the conformance suite for implementations of
// store.Store: not-found semantics, copies in and out, binary values and odd
// keys, the order in which Update applies a Delta, expiry and what extends
// it, ErrExists, ErrTooManyKeys, atomicity under concurrent calls and
// canceled contexts. Each case gets a fresh Harness; sessions live for an
// hour and time moves only through Harness.Advance, in steps of minutes, so
// a store whose real clock keeps running (a real Redis) passes too. A
// backend runs all of it with one line:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Harness {
//			clock := newFakeClock() // a clock the store reads
//			return storetest.Harness{Store: newStore(clock.Now), Advance: clock.Advance}
//		})
//	}
package storetest
