// Package markers replaces the generated blocks of a markdown document:
// the lines between
//
//	<!-- generated: NAME -->
//	<!-- end generated -->
//
// each marker on a line of its own. The text around the blocks, written by
// hand, is kept byte for byte.
package markers

import (
	"fmt"
	"slices"
	"strings"
)

const (
	startPrefix = "<!-- generated: "
	startSuffix = " -->"
	end         = "<!-- end generated -->"
)

// Start returns the line that opens block name.
func Start(name string) string { return startPrefix + name + startSuffix }

// End is the line that closes every block.
const End = end

// Replace returns doc with the content of every block replaced by
// blocks[name], set between blank lines so that a table in it stays a
// table. Every block of doc must have its content in blocks and every
// entry of blocks its block in doc, exactly once: a marker with no content,
// content with no marker, a block opened twice, a block not closed and an
// end with no start are errors, so that a renamed or deleted marker never
// leaves a block silently stale.
func Replace(doc string, blocks map[string]string) (string, error) {
	lines := strings.SplitAfter(doc, "\n")
	var out strings.Builder
	seen := map[string]bool{}
	open, openLine := "", 0
	for i, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, startPrefix) && strings.HasSuffix(t, startSuffix):
			name := strings.TrimSuffix(strings.TrimPrefix(t, startPrefix), startSuffix)
			if open != "" {
				return "", fmt.Errorf("line %d: block %q opened inside block %q (line %d): close it with %q", i+1, name, open, openLine, end)
			}
			if seen[name] {
				return "", fmt.Errorf("line %d: block %q appears twice", i+1, name)
			}
			content, ok := blocks[name]
			if !ok {
				return "", fmt.Errorf("line %d: unknown block %q: nothing generates it (known: %s)", i+1, name, strings.Join(sortedKeys(blocks), ", "))
			}
			seen[name] = true
			open, openLine = name, i+1
			out.WriteString(line)
			out.WriteString("\n")
			out.WriteString(strings.Trim(content, "\n"))
			out.WriteString("\n\n")
		case t == end:
			if open == "" {
				return "", fmt.Errorf("line %d: %q with no block open", i+1, end)
			}
			open = ""
			out.WriteString(line)
		case open == "":
			out.WriteString(line)
		}
	}
	if open != "" {
		return "", fmt.Errorf("line %d: block %q is never closed with %q", openLine, open, end)
	}
	var missing []string
	for _, name := range sortedKeys(blocks) {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("no marker %q in the document for: %s", Start("NAME"), strings.Join(missing, ", "))
	}
	return out.String(), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
