package session

import (
	"context"
	"time"

	"github.com/seed58a3dad2/session/store"
)

// nopStore stores nothing; for tests that never reach the store.
type nopStore struct{}

func (nopStore) Load(context.Context, string, time.Duration) (map[string][]byte, bool, error) {
	return nil, false, nil
}
func (nopStore) Create(context.Context, string, map[string][]byte, time.Duration, int) error {
	return nil
}
func (nopStore) Update(context.Context, string, store.Delta, time.Duration, int) (bool, error) {
	return false, nil
}
func (nopStore) Move(context.Context, string, string, store.Delta, time.Duration, int) (bool, error) {
	return false, nil
}
func (nopStore) Touch(context.Context, string, time.Duration) (bool, error) { return false, nil }
func (nopStore) Delete(context.Context, string) error                       { return nil }
