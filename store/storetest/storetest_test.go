package storetest

import (
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestNames holds the suite to its naming scheme (see the package
// documentation), on which -run patterns and greps for a failing case rely.
func TestNames(t *testing.T) {
	short := regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	topicSeen := make(map[string]bool)
	for _, tp := range topics {
		if !short.MatchString(tp.name) || topicSeen[tp.name] {
			t.Errorf("topic %q: want a CamelCase name used once", tp.name)
		}
		topicSeen[tp.name] = true
		caseSeen := make(map[string]bool)
		for _, c := range tp.cases {
			if !short.MatchString(c.name) || caseSeen[c.name] {
				t.Errorf("case %s/%s: want a CamelCase name used once in its topic", tp.name, c.name)
			}
			caseSeen[c.name] = true
			fn := runtime.FuncForPC(reflect.ValueOf(c.test).Pointer()).Name()
			fn = fn[strings.LastIndex(fn, ".")+1:]
			if want := "test" + tp.name + c.name; fn != want {
				t.Errorf("case %s/%s: got function %s, want %s", tp.name, c.name, fn, want)
			}
			if c.explanation == "" {
				t.Errorf("case %s/%s: got no explanation, want a sentence", tp.name, c.name)
			}
		}
	}
}
