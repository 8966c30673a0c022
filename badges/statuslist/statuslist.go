// Package statuslist implements W3C Bitstring Status List v1.0: the
// compressed bitstring, the BitstringStatusListEntry placed in a
// credential's credentialStatus, and the (unsigned) status list credential.
//
// Securing the list credential (adding a proof) and fetching it are left to
// the caller.
package statuslist

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MinSize is the minimum length, in bits, of a status list (16 KiB). A list
// this long hides which credential a verifier checks among many.
const MinSize = 131072

// MaxDecodedSize bounds, in bytes, the decompressed bitstring that Decode
// accepts, so that a small "gzip bomb" cannot exhaust memory. It is also the
// largest list New creates: 16 MiB, over 134 million entries.
const MaxDecodedSize = 16 << 20

// multibaseBase64URL is the multibase prefix for base64url without padding.
const multibaseBase64URL = "u"

// ErrOutOfRange reports an index outside the bitstring.
var ErrOutOfRange = errors.New("statuslist: index out of range")

// Bitstring is a status list: one bit per credential, index 0 being the
// most significant bit of the first byte, as the specification requires.
// The zero value is an empty list; use New or Decode.
type Bitstring struct {
	bits []byte
}

// New returns a list of size bits, all zero. size is rounded up to a
// multiple of 8 and to at least MinSize; it must not be negative or exceed
// MaxDecodedSize bytes.
func New(size int) (*Bitstring, error) {
	if size < 0 || size > MaxDecodedSize*8 {
		return nil, fmt.Errorf("statuslist: size %d bits outside [0, %d]", size, MaxDecodedSize*8)
	}
	size = max(size, MinSize)
	return &Bitstring{bits: make([]byte, (size+7)/8)}, nil
}

// Len returns the number of bits in the list.
func (b *Bitstring) Len() int { return len(b.bits) * 8 }

func (b *Bitstring) check(i int) error {
	if i < 0 || i >= b.Len() {
		return fmt.Errorf("%w: %d not in [0, %d)", ErrOutOfRange, i, b.Len())
	}
	return nil
}

// Get returns bit i.
func (b *Bitstring) Get(i int) (bool, error) {
	if err := b.check(i); err != nil {
		return false, err
	}
	return b.bits[i/8]&(0x80>>(i%8)) != 0, nil
}

// Set sets bit i to v.
func (b *Bitstring) Set(i int, v bool) error {
	if err := b.check(i); err != nil {
		return err
	}
	if v {
		b.bits[i/8] |= 0x80 >> (i % 8)
	} else {
		b.bits[i/8] &^= 0x80 >> (i % 8)
	}
	return nil
}

// Encode returns the encodedList form of the list: "u" (the multibase
// prefix) followed by the base64url encoding, without padding, of the
// GZIP-compressed bits.
func (b *Bitstring) Encode() (string, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b.bits); err != nil {
		return "", fmt.Errorf("statuslist: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("statuslist: compress: %w", err)
	}
	return multibaseBase64URL + base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// Decode parses an encodedList. The multibase prefix "u" is optional, since
// older lists (StatusList2021) omit it; this is unambiguous because a GZIP
// stream always starts with bytes that base64url-encode to "H4s". Padding,
// which the specification forbids but some encoders add, is tolerated.
//
// Decode does not enforce MinSize: that is a rule for issuers, and
// StatusFromListCredential checks it for verifiers.
func Decode(encoded string) (*Bitstring, error) {
	s := strings.TrimPrefix(encoded, multibaseBase64URL)
	s = strings.TrimRight(s, "=")
	// Bound the input too. GZIP adds at most a few bytes per 64 KiB block
	// to incompressible data, so 1 KiB of slack is plenty.
	if len(s) > base64.RawURLEncoding.EncodedLen(MaxDecodedSize+1024) {
		return nil, fmt.Errorf("statuslist: encoded list of %d characters is too long", len(encoded))
	}
	gz, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("statuslist: encoded list is not base64url: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("statuslist: encoded list is not GZIP: %w", err)
	}
	defer zr.Close()
	// Reading one byte past the limit tells "exactly at" from "above".
	bits, err := io.ReadAll(io.LimitReader(zr, MaxDecodedSize+1))
	if err != nil {
		return nil, fmt.Errorf("statuslist: decompress: %w", err)
	}
	if len(bits) > MaxDecodedSize {
		return nil, fmt.Errorf("statuslist: decompressed list exceeds %d bytes", MaxDecodedSize)
	}
	if len(bits) == 0 {
		return nil, errors.New("statuslist: empty list")
	}
	return &Bitstring{bits: bits}, nil
}
