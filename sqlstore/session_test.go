package sqlstore_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/sessiontest"
	"github.com/seed58a3dad2/session/sqlstore"
)

// TestSessionScenarios holds the middleware to the promises the root
// package's tests check on memstore and Redis, through HTTP, on both
// databases: exact counters, flash messages taken once, writes racing each
// other, a login, a logout, a destroy racing a login, and values that
// cannot be decoded failing only their own reads.
func TestSessionScenarios(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		manager := func(t *testing.T) *session.Manager {
			m, err := session.New(session.Config{
				Store: newStore(t, db, b.dialect, sqlstore.Config{}),
				Keys:  []session.Key{{Hash: bytes.Repeat([]byte("k"), 32)}},
				// 200 writers of one row take turns (one statement each for
				// an Add on PostgreSQL, which TestApplyStatements holds): on
				// a machine busy with other tests the last may wait longer
				// than the default 2 s. These scenarios check what is kept,
				// not how fast.
				StoreTimeout: time.Minute,
			})
			if err != nil {
				t.Fatalf("session.New: %v", err)
			}
			t.Cleanup(func() { _ = m.Close() })
			return m
		}
		t.Run("200 concurrent adds from separate connections count exactly 200", func(t *testing.T) {
			sessiontest.ConcurrentAdds(t, manager(t), 200)
		})
		t.Run("of concurrent takes of a flash, exactly one gets it", func(t *testing.T) {
			sessiontest.ConcurrentTakes(t, manager(t), 5, 20)
		})
		t.Run("a flash set by a request that redirects is shown once after it", func(t *testing.T) {
			sessiontest.FlashAcrossRedirect(t, manager(t))
		})
		t.Run("writers of distinct keys of one session are all kept", func(t *testing.T) {
			sessiontest.DistinctWriters(t, manager(t), 4, 64)
		})
		t.Run("writes racing a login are all kept", func(t *testing.T) {
			sessiontest.RenewRacingWrites(t, manager(t), 20, 16)
		})
		t.Run("nothing written around a logout outlives it", func(t *testing.T) {
			sessiontest.LogoutRacingWrites(t, manager(t), 20, 16)
		})
		t.Run("a destroy racing a login ends the session or misses it, never half", func(t *testing.T) {
			sessiontest.DestroyRacingRenew(t, manager(t), 200)
		})
		t.Run("bytes planted in the values table fail only the reads of their keys", func(t *testing.T) {
			sessiontest.UndecodableValues(t, manager(t), func(t *testing.T, id, key string, raw []byte) {
				res, err := db.ExecContext(t.Context(), `UPDATE sessions_values SET value = $1 WHERE id = $2 AND key = $3`, raw, id, []byte(key))
				if err != nil {
					t.Fatalf("UPDATE sessions_values: %v", err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					t.Fatalf("UPDATE sessions_values: %d rows, want 1", n)
				}
			})
		})
	})
}
