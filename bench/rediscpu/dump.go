package main

import (
	"encoding/binary"
	"hash/crc64"
)

// dumpHash returns the DUMP payload of a hash of the given field, value
// pairs, as RESTORE takes it: RDB type 4 (a hash, which every Redis since
// 2.0 reads and turns into a listpack when small), the pairs as RDB
// strings, RDB version 9 (Redis 5 and 6; later versions read it) and the
// CRC-64 (Jones, reflected, no inversion) of all that.
func dumpHash(pairs ...string) []byte {
	b := []byte{4}
	b = rdbLength(b, len(pairs)/2)
	for _, s := range pairs {
		b = rdbLength(b, len(s))
		b = append(b, s...)
	}
	b = binary.LittleEndian.AppendUint16(b, 9)
	return binary.LittleEndian.AppendUint64(b, crcJones(b))
}

// rdbLength appends n in RDB's length encoding.
func rdbLength(b []byte, n int) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	}
}

// jones is the table of Redis's CRC-64 (the Jones polynomial, reflected).
var jones = crc64.MakeTable(0x95ac9329ac4bc9b5)

// crcJones returns Redis's CRC-64 of b: initial value 0, no final
// inversion, which hash/crc64's Update does.
func crcJones(b []byte) uint64 {
	var crc uint64
	for _, c := range b {
		crc = jones[byte(crc)^c] ^ (crc >> 8)
	}
	return crc
}
