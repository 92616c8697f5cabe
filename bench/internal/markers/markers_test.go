package markers

import (
	"strings"
	"testing"
)

const doc = `# Title

Prose before.

<!-- generated: table -->
| old | table |
<!-- end generated -->

Prose between, kept.

<!-- generated: line -->
old line
<!-- end generated -->
The end.
`

func TestReplace(t *testing.T) {
	blocks := map[string]string{"table": "| new | table |\n| --- | --- |\n", "line": "new line"}
	got, err := Replace(doc, blocks)
	if err != nil {
		t.Fatal(err)
	}
	want := `# Title

Prose before.

<!-- generated: table -->

| new | table |
| --- | --- |

<!-- end generated -->

Prose between, kept.

<!-- generated: line -->

new line

<!-- end generated -->
The end.
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	again, err := Replace(got, blocks)
	if err != nil {
		t.Fatal(err)
	}
	if again != got {
		t.Fatalf("a second replacement changed the document:\n%s\nwant\n%s", again, got)
	}
}

func TestReplaceErrors(t *testing.T) {
	for _, tt := range []struct {
		name, doc string
		blocks    map[string]string
		wantErr   string
	}{
		{"a marker nothing generates", doc, map[string]string{"table": ""}, `unknown block "line"`},
		{"content with no marker", doc, map[string]string{"table": "", "line": "", "memory": ""}, "memory"},
		{"a block never closed", "<!-- generated: a -->\nx\n", map[string]string{"a": ""}, "never closed"},
		{"an end with no start", "x\n<!-- end generated -->\n", nil, "no block open"},
		{"a block inside a block", "<!-- generated: a -->\n<!-- generated: b -->\n<!-- end generated -->\n", map[string]string{"a": "", "b": ""}, "inside block"},
		{"a block twice", "<!-- generated: a -->\n<!-- end generated -->\n<!-- generated: a -->\n<!-- end generated -->\n", map[string]string{"a": ""}, "twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Replace(tt.doc, tt.blocks)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
