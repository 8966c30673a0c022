// Package base58 encodes and decodes base58btc (the Bitcoin alphabet), the "z"
// multibase encoding of Multikey, did:key and Data Integrity proof values.
package base58

import (
	"fmt"
	"strings"
)

// base58btc (the Bitcoin alphabet) is the "z" multibase encoding used by
// Multikey and did:key. It is small enough to keep here rather than pull
// in a dependency.

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Encode encodes b in base58btc. Each leading zero byte becomes a
// leading '1'.
func Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// log(256)/log(58) < 1.38, so this many digits always suffice.
	digits := make([]byte, (len(b)-zeros)*138/100+1)
	n := 0 // digits in use, stored little-endian in digits[:n]
	for _, c := range b[zeros:] {
		carry := int(c)
		for i := 0; i < n; i++ {
			carry += int(digits[i]) << 8
			digits[i] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits[n] = byte(carry % 58)
			carry /= 58
			n++
		}
	}
	out := make([]byte, zeros+n)
	for i := 0; i < zeros; i++ {
		out[i] = '1'
	}
	for i := 0; i < n; i++ {
		out[zeros+i] = base58Alphabet[digits[n-1-i]]
	}
	return string(out)
}

// Decode decodes a base58btc string. It rejects any byte outside
// the alphabet (including whitespace and non-ASCII). Its cost grows with
// the square of len(s), so callers cap the length of untrusted input.
func Decode(s string) ([]byte, error) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// log(58)/log(256) < 0.733, so this many bytes always suffice.
	buf := make([]byte, (len(s)-zeros)*733/1000+1)
	n := 0 // bytes in use, stored little-endian in buf[:n]
	for i := zeros; i < len(s); i++ {
		// A linear scan keeps the package free of lookup tables; inputs
		// are capped, so it costs nothing that matters.
		d := strings.IndexByte(base58Alphabet, s[i])
		if d < 0 {
			return nil, fmt.Errorf("invalid base58btc character %q at offset %d", s[i], i)
		}
		carry := d
		for j := 0; j < n; j++ {
			carry += int(buf[j]) * 58
			buf[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			buf[n] = byte(carry)
			carry >>= 8
			n++
		}
	}
	out := make([]byte, zeros+n)
	for i := 0; i < n; i++ {
		out[zeros+i] = buf[n-1-i]
	}
	return out, nil
}
