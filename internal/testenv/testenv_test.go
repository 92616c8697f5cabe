package testenv

import "testing"

func TestMissing(t *testing.T) {
	t.Run("skips outside CI", func(t *testing.T) {
		t.Setenv("CI", "")
		ft := &fakeT{}
		Missing(ft, "install x")
		if !ft.skipped || ft.failed {
			t.Fatalf("got skipped=%v failed=%v, want a skip", ft.skipped, ft.failed)
		}
	})
	t.Run("fails in CI", func(t *testing.T) {
		t.Setenv("CI", "true")
		ft := &fakeT{}
		Missing(ft, "install x")
		if ft.skipped || !ft.failed {
			t.Fatalf("got skipped=%v failed=%v, want a failure", ft.skipped, ft.failed)
		}
	})
}

// fakeT records what Missing does, without stopping the test that runs it.
type fakeT struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Skip(...any)           { f.skipped = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }
