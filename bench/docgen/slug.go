package main

import (
	"strings"
	"unicode"
)

// Slug returns the anchor GitHub gives a heading: lower case, spaces to
// hyphens, every other character but letters, digits, '-' and '_'
// dropped.
func Slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// headingSlugs returns the anchors of doc's headings, outside code blocks.
func headingSlugs(doc string) map[string]bool {
	slugs := map[string]bool{}
	fenced := false
	for line := range strings.Lines(doc) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(t, "#") {
			continue
		}
		h := strings.TrimLeft(t, "#")
		if h == "" || h[0] != ' ' {
			continue // "#tag", not a heading
		}
		slugs[Slug(strings.ReplaceAll(h, "`", ""))] = true
	}
	return slugs
}
