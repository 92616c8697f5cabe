package sqlstore

import (
	"testing"

	"github.com/seed58a3dad2/session/store"
)

func TestNewChange(t *testing.T) {
	for _, tt := range []struct {
		name        string
		d           store.Delta
		set, del    string
		user, label column
	}{
		{"nothing", store.Delta{}, "[]", "[]", column{}, column{}},
		{"keys in hex, byte for byte, in key order",
			store.Delta{Set: map[string][]byte{"b": {0xff}, "a\x00": nil}},
			`[["6100",""],["62","ff"]]`, "[]", column{}, column{}},
		{"a key deleted and set is only set; one deleted twice, once",
			store.Delta{Del: []string{"x", "a", "x"}, Set: map[string][]byte{"a": []byte("1")}},
			`[["61","31"]]`, `["78"]`, column{}, column{}},
		{"the user set, the label deleted",
			store.Delta{Del: []string{store.LabelKey}, Set: map[string][]byte{store.UserKey: []byte("ann")}},
			`[["4075736572","616e6e"]]`, `["406c6162656c"]`,
			column{change: true, value: []byte("ann")}, column{change: true}},
		{"an empty user is no user", store.Delta{Set: map[string][]byte{store.UserKey: {}}},
			`[["4075736572",""]]`, "[]", column{change: true}, column{}},
		{"Clear keeps the metadata columns", store.Delta{Clear: true}, "[]", "[]", column{}, column{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newChange(&tt.d)
			if c.set != tt.set || c.del != tt.del {
				t.Errorf("set, del: got %s, %s, want %s, %s", c.set, c.del, tt.set, tt.del)
			}
			if c.user.change != tt.user.change || string(c.user.value) != string(tt.user.value) || (c.user.value == nil) != (tt.user.value == nil) {
				t.Errorf("user: got %+v, want %+v", c.user, tt.user)
			}
			if c.label.change != tt.label.change || string(c.label.value) != string(tt.label.value) {
				t.Errorf("label: got %+v, want %+v", c.label, tt.label)
			}
		})
	}
}

func TestShardOf(t *testing.T) {
	seen := make(map[int]bool)
	for i := range len(base64url) {
		seen[shardOf(base64url[i:i+1]+"rest")] = true
	}
	if len(seen) != shards {
		t.Errorf("the 64 first characters of IDs fall in %d shards, want %d", len(seen), shards)
	}
	for _, id := range []string{"", "\xff", "é"} {
		if s := shardOf(id); s < 0 || s >= shards {
			t.Errorf("shardOf(%q): got %d, want 0 to %d", id, s, shards-1)
		}
	}
}
