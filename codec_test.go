package session_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/seed58a3dad2/session"
)

func TestConfigCodecIsUsed(t *testing.T) {
	e := newEnv(t, session.Config{Codec: upperCodec{}})
	c := e.client()
	c.get(`/set?k=u&v="ann"`)
	if got := c.get("/get?k=u"); got != `"ANN"` {
		t.Fatalf("got %s, want \"ANN\" from the configured codec", got)
	}
}

// markingCodec decodes as JSON does, then marks what it decoded: proof
// that Get went through it.
type markingCodec struct{ session.JSON }

func (c markingCodec) Unmarshal(data []byte, v any) error {
	if err := c.JSON.Unmarshal(data, v); err != nil {
		return err
	}
	switch v := v.(type) {
	case *string:
		*v += "!"
	case *int:
		*v *= 2
	case *bool:
		*v = !*v
	}
	return nil
}

func TestGetDecodesPlainValuesWithTheConfiguredCodec(t *testing.T) {
	// Get decodes plain strings, ints and bools itself for the JSON codec:
	// never for another.
	e := newEnv(t, session.Config{Codec: markingCodec{}})
	c := e.client()
	c.get(`/set?k=s&v="ann"`)
	c.get(`/set?k=n&v=21`)
	c.get(`/set?k=b&v=false`)
	c.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		if got, ok, err := session.Get[string](s, "s"); got != "ann!" || !ok || err != nil {
			t.Errorf("Get[string]: got %q, %v, %v, want \"ann!\", true, nil", got, ok, err)
		}
		if got, ok, err := session.Get[int](s, "n"); got != 42 || !ok || err != nil {
			t.Errorf("Get[int]: got %d, %v, %v, want 42, true, nil", got, ok, err)
		}
		if got, ok, err := session.Get[bool](s, "b"); !got || !ok || err != nil {
			t.Errorf("Get[bool]: got %v, %v, %v, want true, true, nil", got, ok, err)
		}
	})
}

// FuzzJSONCodecMatchesEncodingJSON holds the codec's fast paths to
// encoding/json: the same bytes out, the same values and errors in.
func FuzzJSONCodecMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"ann", "", "a\"b", "<b>", "é", "\x00", `\`, "0", "-1", "01", "1e3", "true", "null", `"x"`, "9223372036854775808"} {
		f.Add(s, int64(len(s))-3, len(s)%2 == 0)
	}
	c := session.JSON{}
	f.Fuzz(func(t *testing.T, s string, n int64, b bool) {
		for _, v := range []any{s, int(n), n, b} {
			got, err := c.Marshal(v)
			want, wantErr := marshalNoHTMLEscape(v)
			if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
				t.Fatalf("Marshal(%#v): got %q %v, want %q %v", v, got, err, want, wantErr)
			}
		}
		data := []byte(s) // any bytes, as another service may have stored
		var gs, ws string
		errG, errW := c.Unmarshal(data, &gs), json.Unmarshal(data, &ws)
		if gs != ws || (errG == nil) != (errW == nil) {
			t.Fatalf("Unmarshal(%q) into string: got %q %v, want %q %v", data, gs, errG, ws, errW)
		}
		var gi, wi int
		errG, errW = c.Unmarshal(data, &gi), json.Unmarshal(data, &wi)
		if gi != wi || (errG == nil) != (errW == nil) {
			t.Fatalf("Unmarshal(%q) into int: got %d %v, want %d %v", data, gi, errG, wi, errW)
		}
		var gb, wb bool
		errG, errW = c.Unmarshal(data, &gb), json.Unmarshal(data, &wb)
		if gb != wb || (errG == nil) != (errW == nil) {
			t.Fatalf("Unmarshal(%q) into bool: got %v %v, want %v %v", data, gb, errG, wb, errW)
		}
	})
}

// marshalNoHTMLEscape is json.Marshal without its HTML escaping, which the
// codec leaves out.
func marshalNoHTMLEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
