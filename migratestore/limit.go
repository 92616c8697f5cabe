package migratestore

import "context"

// Reserve counts id toward the limit in the store new sessions go to: the
// new one (the old one while the Store reads through). The sessions of the
// other store are not counted, so during a migration the farm may hold up
// to max more than the old store still holds (Remaining). Sessions that
// move count in the new store from their move on.
func (s *Store) Reserve(ctx context.Context, id string, max int) (bool, error) {
	if err := s.notIndexed(ctx, "Reserve"); err != nil {
		return false, err
	}
	return s.home().lim.Reserve(ctx, id, max)
}
