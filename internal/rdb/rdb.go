// Package rdb writes the payloads Redis's RESTORE takes, in the format its
// DUMP writes: for redisstore, which creates a session's hash in one
// RESTORE, and for the benchmark that measured that path.
package rdb

import (
	"encoding/binary"
	"hash/crc64"
)

// Hash returns the payload that RESTORE turns into a hash holding the
// given field, value pairs, in the format DUMP writes: RDB type 4 (a hash,
// which every Redis since 2.0 reads, and turns into a listpack or ziplist
// when small, as HSET would have made it), the number of pairs and each
// field and value as RDB strings, then RDB version 9 (Redis 5 and 6; later
// versions read earlier ones) and the CRC-64 of all that, both little
// endian.
func Hash(pairs [][]byte) []byte {
	n := 16
	for _, p := range pairs {
		n += 9 + len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, 4)
	b = rdbLength(b, uint64(len(pairs)/2))
	for _, p := range pairs {
		b = rdbLength(b, uint64(len(p)))
		b = append(b, p...)
	}
	b = binary.LittleEndian.AppendUint16(b, 9)
	return binary.LittleEndian.AppendUint64(b, crcJones(b))
}

// rdbLength appends n in RDB's length encoding: 6 bits, 14 bits, or a
// marker byte and 32 or 64 bits, big endian.
func rdbLength(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	case n <= 1<<32-1:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0x81), n)
	}
}

// jones is the table of Redis's CRC-64: the Jones polynomial, reflected.
var jones = crc64.MakeTable(0x95ac9329ac4bc9b5)

// crcJones returns Redis's CRC-64 of b, whose initial value is 0 and which
// is not inverted at the end, unlike hash/crc64's.
func crcJones(b []byte) uint64 {
	var crc uint64
	for _, c := range b {
		crc = jones[byte(crc)^c] ^ (crc >> 8)
	}
	return crc
}
