package migratestore_test

import (
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/fakeclock"
	"github.com/seed58a3dad2/session/migratestore"
	"github.com/seed58a3dad2/session/store"
)

func TestReserve(t *testing.T) {
	// Every fake clock starts at the same instant.
	readThrough := migratestore.Config{MoveFrom: fakeclock.New().Now().Add(time.Hour)}
	for _, tt := range []struct {
		name   string
		cfg    migratestore.Config
		counts string // the store whose limit counts
	}{
		{"Reserve counts in the new store", migratestore.Config{}, "new"},
		{"Reserve counts in the old store while the Store reads through", readThrough, "old"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.cfg)
			if ok, err := r.s.Reserve(t.Context(), newID(), 1); err != nil || !ok {
				t.Fatalf("Reserve(max 1): got %v, %v, want true, nil", ok, err)
			}
			for name, st := range map[string]store.Limiter{"old": r.old, "new": r.new} {
				ok, err := st.Reserve(t.Context(), newID(), 1)
				if err != nil || ok != (name != tt.counts) {
					t.Errorf("the %s store's Reserve(max 1) after one: got %v, %v, want %v", name, ok, err, name != tt.counts)
				}
			}
		})
	}
}
