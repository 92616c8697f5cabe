package session_test

import (
	"strings"
	"testing"

	"github.com/seed58a3dad2/session"
)

func TestParseKeys(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	keys, err := session.ParseKeys(hexKey + ", " + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=:" + strings.Repeat("cd", 16))
	if err != nil || len(keys) != 2 || len(keys[0].Hash) != 32 || len(keys[1].Hash) != 32 || len(keys[1].Block) != 16 {
		t.Fatalf("got %v, %v", keys, err)
	}
	for _, bad := range []string{"", "abcd", "not-a-key!!", " , "} {
		if _, err := session.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q): got no error", bad)
		}
	}
}
