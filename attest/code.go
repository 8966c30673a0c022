package attest

import (
	"crypto/rand"
	"strings"
)

// codeAlphabet has no character a reader could take for another: no 0/O,
// no 1/I/L. 31 symbols; a code of 10 carries 49 bits, enough that codes
// cannot be guessed by trying (every try is a request).
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// CodeLen is the number of symbols of a code.
const CodeLen = 10

// newCode returns a random code.
func newCode() string {
	var b [CodeLen]byte
	out := make([]byte, CodeLen)
	for i := 0; i < CodeLen; {
		rand.Read(b[:])
		for _, c := range b {
			// 248 = 8 × 31: rejection keeps the symbols uniform.
			if c < 248 && i < CodeLen {
				out[i] = codeAlphabet[c%31]
				i++
			}
		}
	}
	return string(out)
}

// FormatCode groups a code for reading: XXXX-XXXX-XX.
func FormatCode(c string) string {
	if len(c) != CodeLen {
		return c
	}
	return c[:4] + "-" + c[4:8] + "-" + c[8:]
}

// NormalizeCode reads a code as a person types it: any case, with spaces
// or hyphens. It returns "" when s cannot be a code.
func NormalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r < 0x80 && strings.IndexByte(codeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return ""
		}
		if b.Len() > CodeLen {
			return ""
		}
	}
	if b.Len() != CodeLen {
		return ""
	}
	return b.String()
}
