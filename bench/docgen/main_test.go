package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed58a3dad2/session/bench/internal/markers"
)

func TestSlug(t *testing.T) {
	for _, tt := range []struct{ heading, want string }{
		{"Where the time goes, and what would close the gaps", "where-the-time-goes-and-what-would-close-the-gaps"},
		{"memstore's read: what the profile shows", "memstores-read-what-the-profile-shows"},
		{"Run at 9055a47: the farm work", "run-at-9055a47-the-farm-work"},
	} {
		if got := Slug(tt.heading); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

// TestBenchmarksMarkers renders an empty run into the repository's
// BENCHMARKS.md: every block docgen writes must have its markers there,
// every marker there a block, and every section a target links to must
// exist, or the next bench/all.sh fails after half an hour of measuring.
func TestBenchmarksMarkers(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "machine.env"), []byte("commit=abc1234\nskip_scale=SCALE=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := render(dir, string(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := markers.Replace(string(doc), blocks)
	if err != nil {
		t.Fatalf("BENCHMARKS.md: %v", err)
	}
	if !strings.Contains(out, "Not measured in this run: SCALE=0.") {
		t.Errorf("a skipped scale run: want its blocks to say SCALE=0")
	}
}

func TestRenderRefusesAnEmptyDirectory(t *testing.T) {
	if _, err := render(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "machine.env") {
		t.Fatalf("got %v, want an error naming machine.env", err)
	}
}
