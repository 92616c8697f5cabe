package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// Apply is Update for a Delta that may Add and Take.
//
// Interim: Add and Take are being built; until then a Delta with them is
// refused.
func (s *Store) Apply(ctx context.Context, id string, d store.Delta, ttl time.Duration, maxKeys int) (map[string][]byte, bool, error) {
	if len(d.Add) > 0 || len(d.Take) > 0 {
		return nil, false, errors.New("sqlstore: Add and Take are not supported yet")
	}
	found, err := s.Update(ctx, id, d, ttl, maxKeys)
	return nil, found, err
}
