// Package bake embeds ("bakes") an Open Badges 3.0 credential into a PNG or
// SVG image and extracts it again, as described in the Open Badges 3.0
// specification, section "Badge Baking".
//
// The payload is either the credential as JSON (for a credential secured
// with an embedded proof) or a compact JWS (for a VC-JWT). The functions
// here only move bytes in and out of images; they neither parse nor verify
// the credential.
package bake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxImageSize is the largest image, in bytes, that the functions of this
// package accept or produce. Badge images are small; the limit keeps a
// hostile upload from costing much memory or CPU.
const MaxImageSize = 10 << 20

// maxPayloadSize bounds a decompressed PNG text chunk. A baked credential
// can never usefully be larger than the image that carries it.
const maxPayloadSize = MaxImageSize

// Formats reported by Unbake.
const (
	FormatPNG = "png"
	FormatSVG = "svg"
)

var (
	// ErrNotBaked reports that an image carries no credential.
	ErrNotBaked = errors.New("bake: the image carries no credential")
	// ErrAlreadyBaked reports that an image to be baked already carries a
	// credential. Use RebakePNG or RebakeSVG to replace it.
	ErrAlreadyBaked = errors.New("bake: the image already carries a credential")
	// ErrMultipleCredentials reports an image with more than one credential.
	// The specification forbids it, and picking one would let an attacker
	// choose which credential a verifier and a displayer each see.
	ErrMultipleCredentials = errors.New("bake: the image carries two credentials")
	// ErrTooLarge reports an input larger than MaxImageSize.
	ErrTooLarge = errors.New("bake: image too large")
	// ErrMalformed reports an image that is not well-formed: bad signature,
	// truncated or oversized chunks, CRC mismatches, unparsable XML and so on.
	ErrMalformed = errors.New("bake: malformed image")
	// ErrUnknownFormat reports an image that is neither PNG nor SVG.
	ErrUnknownFormat = errors.New("bake: not a PNG or SVG image")
)

// Unbake extracts the credential from a PNG or SVG image, telling the two
// apart by their content. format is FormatPNG or FormatSVG.
func Unbake(img []byte) (payload []byte, format string, err error) {
	if err := checkSize(img); err != nil {
		return nil, "", err
	}
	switch {
	case bytes.HasPrefix(img, pngSignature):
		p, err := UnbakePNG(img)
		return p, FormatPNG, err
	case looksLikeXML(img):
		p, err := UnbakeSVG(img)
		return p, FormatSVG, err
	}
	return nil, "", ErrUnknownFormat
}

// looksLikeXML reports whether b starts, after an optional byte order mark
// and white space, with '<'.
func looksLikeXML(b []byte) bool {
	b = bytes.TrimPrefix(b, utf8BOM)
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func checkSize(img []byte) error {
	if len(img) > MaxImageSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(img), MaxImageSize)
	}
	return nil
}

// payloadKind is what a payload to bake holds.
type payloadKind int

const (
	kindJSON payloadKind = iota + 1
	kindJWS
)

// classifyPayload decides whether p is a JSON credential or a compact JWS
// and refuses anything else, so that a caller mixing up arguments (say,
// passing an image or a JWS JSON serialization) gets an error at baking
// time rather than a badge no verifier can read.
func classifyPayload(p []byte) (payloadKind, error) {
	if len(p) == 0 {
		return 0, errors.New("bake: empty payload")
	}
	if p[0] == '{' {
		if !utf8.Valid(p) {
			return 0, errors.New("bake: JSON payload is not valid UTF-8")
		}
		if !json.Valid(p) {
			return 0, errors.New("bake: payload starts with '{' but is not valid JSON")
		}
		return kindJSON, nil
	}
	if err := checkCompactJWS(p); err != nil {
		return 0, fmt.Errorf("bake: payload is neither a JSON object nor a compact JWS: %w", err)
	}
	return kindJWS, nil
}

// checkCompactJWS checks the shape of a compact JWS: three non-empty
// base64url parts (no padding) separated by dots. It does not verify it.
func checkCompactJWS(p []byte) error {
	parts := bytes.Split(p, []byte("."))
	if len(parts) != 3 {
		return fmt.Errorf("want 3 dot-separated parts, got %d", len(parts))
	}
	names := [3]string{"header", "payload", "signature"}
	for i, part := range parts {
		if len(part) == 0 {
			return fmt.Errorf("empty %s", names[i])
		}
		for j, c := range part {
			if !isBase64URL(c) {
				return fmt.Errorf("%s: invalid character %q at offset %d", names[i], c, j)
			}
		}
		// Catches lengths that cannot be base64 (len%4 == 1).
		if _, err := base64.RawURLEncoding.DecodeString(string(part)); err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	return nil
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
