package session

import "encoding/json"

// A Codec turns values into bytes for the store and back. Set encodes at
// once, so errors surface there and later changes to the value do not leak
// into the session.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec: values are readable with redis-cli and by
// services not written in Go. A json.RawMessage is stored as it is.
type JSON struct{}

// Marshal encodes v with encoding/json.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes data into v with encoding/json.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
