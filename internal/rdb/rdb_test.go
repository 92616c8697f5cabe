package rdb

import (
	"bytes"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/redistest"
)

func TestCRCJones(t *testing.T) {
	// The check value of CRC-64/Jones as Redis computes it (its crc64.c
	// tests the same).
	if got, want := crcJones([]byte("123456789")), uint64(0xe9c6d914c4b8d9ca); got != want {
		t.Errorf("crcJones(123456789): got %#x, want %#x", got, want)
	}
}

func TestRDBLength(t *testing.T) {
	for _, tt := range []struct {
		n    uint64
		want []byte
	}{
		{0, []byte{0}},
		{63, []byte{63}},
		{64, []byte{0x40, 64}},
		{16383, []byte{0x7f, 0xff}},
		{16384, []byte{0x80, 0, 0, 0x40, 0}},
		{1<<32 - 1, []byte{0x80, 0xff, 0xff, 0xff, 0xff}},
		{1 << 32, []byte{0x81, 0, 0, 0, 1, 0, 0, 0, 0}},
	} {
		if got := rdbLength(nil, tt.n); !bytes.Equal(got, tt.want) {
			t.Errorf("rdbLength(%d): got %x, want %x", tt.n, got, tt.want)
		}
	}
}

// TestDumpHashRestores checks on a real Redis that RESTORE of Hash gives
// back the hash, in the encoding HSET gives the same pairs: small (a
// listpack on Redis 7) and past the listpack limits (a hashtable), with
// strings of each length encoding.
func TestHashRestores(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t)
	ctx := t.Context()
	large := map[string]string{"big": strings.Repeat("v", 20000)}
	for i := range 600 {
		large["field-"+strconv.Itoa(i)+strings.Repeat("f", i%100)] = strconv.Itoa(i)
	}
	for name, hash := range map[string]map[string]string{
		"small": {"@created": "1700000000000", "user": `"ann"`, "n": "0", "": ""},
		"large": large,
	} {
		t.Run(name, func(t *testing.T) {
			var pairs [][]byte
			var args []any
			for f, v := range hash {
				pairs = append(pairs, []byte(f), []byte(v))
				args = append(args, f, v)
			}
			restored, built := prefix+":restored:"+name, prefix+":built:"+name
			if err := c.Restore(ctx, restored, time.Minute, string(Hash(pairs))).Err(); err != nil {
				t.Fatalf("RESTORE: got error %v, want nil", err)
			}
			if err := c.HSet(ctx, built, args...).Err(); err != nil {
				t.Fatalf("HSET: got error %v, want nil", err)
			}
			got, err := c.HGetAll(ctx, restored).Result()
			if err != nil || !maps.Equal(got, hash) {
				t.Errorf("HGETALL of the restored hash: got %d fields, %v, want the %d restored, nil", len(got), err, len(hash))
			}
			gotEnc, err1 := c.ObjectEncoding(ctx, restored).Result()
			wantEnc, err2 := c.ObjectEncoding(ctx, built).Result()
			if err1 != nil || err2 != nil || gotEnc != wantEnc {
				t.Errorf("OBJECT ENCODING: got %q, %v for the restored hash, want %q, %v as HSET makes it", gotEnc, err1, wantEnc, err2)
			}
		})
	}
}
