package session

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// A Codec turns values into bytes for the store and back. Set encodes at
// once, so errors surface there and later changes to the value do not leak
// into the session. Unmarshal must not keep or modify data after it returns:
// data may be the store's own bytes (a store.Lender lends them), and a value
// that shares them would change the session for every later request.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec: values are readable with redis-cli and by
// services not written in Go. A json.RawMessage is stored compacted.
//
// Values are encoded as a json.Encoder with SetEscapeHTML(false) encodes
// them: a stored value is never inserted into a page by this package, so
// '<', '>' and '&' are kept as they are instead of growing six-fold into
// \u003c escapes (and past Config.MaxValueSize). Plain strings, ints and
// bools skip encoding/json's reflection when the result is exactly what
// encoding/json would give.
type JSON struct{}

// Marshal encodes v as encoding/json does, without HTML escaping.
func (JSON) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		if plainJSONString(v) {
			b := make([]byte, 0, len(v)+2)
			return append(append(append(b, '"'), v...), '"'), nil
		}
	case int:
		return strconv.AppendInt(nil, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(nil, v, 10), nil
	case bool:
		return strconv.AppendBool(nil, v), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Unmarshal decodes data into v as encoding/json does.
func (JSON) Unmarshal(data []byte, v any) error {
	if unmarshalPlain(data, v) {
		return nil
	}
	return json.Unmarshal(data, v)
}

// unmarshalPlain decodes data into v without reflection when v is a
// *string, *int or *bool and data is exactly what encoding/json encodes
// such a value as, and reports whether it did; JSON.Unmarshal leaves the
// rest to encoding/json. It keeps nothing of v, so a caller's variable
// whose address it gets can stay on the stack (see Get).
func unmarshalPlain(data []byte, v any) bool {
	switch v := v.(type) {
	case *string:
		if n := len(data); n >= 2 && data[0] == '"' && data[n-1] == '"' && plainJSONString(string(data[1:n-1])) {
			*v = string(data[1 : n-1])
			return true
		}
	case *int:
		if plainJSONInt(data) {
			if n, err := strconv.Atoi(string(data)); err == nil {
				*v = n
				return true
			}
		}
	case *bool:
		switch string(data) {
		case "true":
			*v = true
			return true
		case "false":
			*v = false
			return true
		}
	}
	return false
}

// plainJSONString reports whether s is encoded by encoding/json, without
// HTML escaping, as itself between quotes: printable ASCII without '"' or
// '\\'.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\':
			return false
		}
	}
	return true
}

// plainJSONInt reports whether data is a JSON integer without fraction or
// exponent: -?(0|[1-9][0-9]*).
func plainJSONInt(data []byte) bool {
	if len(data) > 0 && data[0] == '-' {
		data = data[1:]
	}
	if len(data) == 0 || (data[0] == '0' && len(data) > 1) {
		return false
	}
	for _, c := range data {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
