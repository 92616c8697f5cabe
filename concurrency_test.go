package session_test

import (
	"testing"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/internal/sessiontest"
)

// testRaces runs the races of sessiontest, through real HTTP connections,
// on managers newManager returns, whose store must keep an index (for
// Manager.Destroy): writes racing each other, a login, a logout, and an
// administrator's destroy racing a login. Each is repeated a few hundred
// times: an interleaving that loses a write or resurrects a session shows
// within that many on any of them.
func testRaces(t *testing.T, newManager func(t *testing.T) *session.Manager) {
	t.Run("writers of distinct keys of one session are all kept", func(t *testing.T) {
		sessiontest.DistinctWriters(t, newManager(t), 4, 64)
	})
	t.Run("writes racing a login are all kept", func(t *testing.T) {
		sessiontest.RenewRacingWrites(t, newManager(t), 20, 16)
	})
	t.Run("nothing written around a logout outlives it", func(t *testing.T) {
		sessiontest.LogoutRacingWrites(t, newManager(t), 20, 16)
	})
	t.Run("a destroy racing a login ends the session or misses it, never half", func(t *testing.T) {
		sessiontest.DestroyRacingRenew(t, newManager(t), 200)
	})
}

func TestRacesMemstore(t *testing.T) {
	testRaces(t, func(t *testing.T) *session.Manager { return newEnv(t, session.Config{}).m })
}
