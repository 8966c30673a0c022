package bake

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf8"
)

// pngKeyword is the iTXt keyword of an Open Badges 3.0 credential. (Open
// Badges 2.0 used "openbadges"; such assertions are not credentials and
// are ignored here.)
const pngKeyword = "openbadgecredential"

var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}

// PNG layout: every chunk is length (4), type (4), data (length), CRC (4).
const (
	chunkOverhead = 12
	ihdrLen       = 13
	// maxChunkLen is the PNG limit on a chunk's length (2^31-1).
	maxChunkLen = 1<<31 - 1
	// ihdrEnd is the offset just past the IHDR chunk, which must come first.
	ihdrEnd = 8 + chunkOverhead + ihdrLen
)

// chunk is one PNG chunk; data aliases the image.
type chunk struct {
	typ        string
	data       []byte
	start, end int // byte range of the whole chunk in the image
}

// walkPNG checks the structure of a PNG (signature, IHDR first, chunk
// lengths, CRCs, IEND present) and calls fn for every chunk up to and
// including IEND. Bytes after IEND are ignored, as PNG decoders do.
//
// It walks instead of returning a slice so that an image made of millions
// of empty chunks costs no memory.
func walkPNG(img []byte, fn func(chunk) error) error {
	if err := checkSize(img); err != nil {
		return err
	}
	if !bytes.HasPrefix(img, pngSignature) {
		return fmt.Errorf("%w: not a PNG (bad signature)", ErrMalformed)
	}
	off := len(pngSignature)
	for n := 0; ; n++ {
		rest := len(img) - off
		if rest == 0 {
			return fmt.Errorf("%w: png: missing IEND chunk", ErrMalformed)
		}
		if rest < chunkOverhead {
			return fmt.Errorf("%w: png: truncated chunk header at offset %d", ErrMalformed, off)
		}
		length := binary.BigEndian.Uint32(img[off:])
		typ := img[off+4 : off+8]
		if length > maxChunkLen {
			return fmt.Errorf("%w: png: chunk %q at offset %d declares length %d, above the PNG limit", ErrMalformed, typ, off, length)
		}
		// length <= maxChunkLen, so the conversion to int is safe.
		if int(length) > rest-chunkOverhead {
			return fmt.Errorf("%w: png: chunk %q at offset %d declares length %d but only %d bytes remain", ErrMalformed, typ, off, length, rest-chunkOverhead)
		}
		for _, c := range typ {
			if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
				return fmt.Errorf("%w: png: invalid chunk type %q at offset %d", ErrMalformed, typ, off)
			}
		}
		end := off + chunkOverhead + int(length)
		body := img[off+4 : end-4] // type + data, what the CRC covers
		if got, want := crc32.ChecksumIEEE(body), binary.BigEndian.Uint32(img[end-4:]); got != want {
			return fmt.Errorf("%w: png: chunk %q at offset %d: CRC mismatch", ErrMalformed, typ, off)
		}
		c := chunk{typ: string(typ), data: img[off+8 : end-4], start: off, end: end}
		if n == 0 && (c.typ != "IHDR" || length != ihdrLen) {
			return fmt.Errorf("%w: png: first chunk is %q (length %d), want IHDR (length 13)", ErrMalformed, c.typ, length)
		}
		if err := fn(c); err != nil {
			return err
		}
		if c.typ == "IEND" {
			return nil
		}
		off = end
	}
}

// isCredentialChunk reports whether c is an iTXt chunk with the Open Badges
// 3.0 keyword, whatever the rest of it holds.
func isCredentialChunk(c chunk) bool {
	if c.typ != "iTXt" {
		return false
	}
	kw, _, ok := bytes.Cut(c.data, []byte{0})
	return ok && string(kw) == pngKeyword
}

// UnbakePNG returns the credential carried by a PNG image: the text of its
// iTXt chunk with keyword "openbadgecredential", decompressed if needed.
// It returns ErrNotBaked if there is none and ErrMultipleCredentials if
// there are several. The whole file is checked (signature, chunk lengths,
// CRCs), so a damaged image is reported as such rather than half-read.
func UnbakePNG(img []byte) ([]byte, error) {
	var found *chunk
	err := walkPNG(img, func(c chunk) error {
		if !isCredentialChunk(c) {
			return nil
		}
		if found != nil {
			return fmt.Errorf("%w (iTXt chunks at offsets %d and %d)", ErrMultipleCredentials, found.start, c.start)
		}
		found = &c
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, ErrNotBaked
	}
	text, err := parseITXt(found.data)
	if err != nil {
		return nil, fmt.Errorf("%w: png: iTXt chunk at offset %d: %w", ErrMalformed, found.start, err)
	}
	return text, nil
}

// parseITXt returns the text of an iTXt chunk with our keyword: keyword,
// NUL, compression flag, compression method, language tag, NUL, translated
// keyword, NUL, text. The result never aliases data.
func parseITXt(data []byte) ([]byte, error) {
	_, rest, _ := bytes.Cut(data, []byte{0}) // keyword, checked by the caller
	if len(rest) < 2 {
		return nil, errors.New("truncated header")
	}
	flag, method := rest[0], rest[1]
	rest = rest[2:]
	for _, field := range []string{"language tag", "translated keyword"} {
		var ok bool
		if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok {
			return nil, fmt.Errorf("unterminated %s", field)
		}
	}
	var text []byte
	switch flag {
	case 0:
		text = bytes.Clone(rest)
	case 1:
		if method != 0 {
			return nil, fmt.Errorf("unknown compression method %d", method)
		}
		var err error
		if text, err = inflate(rest); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("invalid compression flag %d", flag)
	}
	if len(text) == 0 {
		return nil, errors.New("empty credential")
	}
	if !utf8.Valid(text) {
		return nil, errors.New("text is not valid UTF-8")
	}
	return text, nil
}

// inflate decompresses a zlib stream, refusing output above maxPayloadSize
// so that a small "zip bomb" chunk cannot exhaust memory.
func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	defer zr.Close()
	// Reading one byte past the limit tells "exactly at" from "above".
	out, err := io.ReadAll(io.LimitReader(zr, maxPayloadSize+1))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	if len(out) > maxPayloadSize {
		return nil, fmt.Errorf("decompressed text exceeds %d bytes", maxPayloadSize)
	}
	return out, nil
}

// BakePNG returns a copy of img carrying payload (a JSON credential or a
// compact JWS) in an uncompressed iTXt chunk with keyword
// "openbadgecredential", placed right after IHDR. It refuses an image that
// already carries a credential with ErrAlreadyBaked.
func BakePNG(img []byte, payload []byte) ([]byte, error) {
	return bakePNG(img, payload, false)
}

// RebakePNG is like BakePNG but first removes any credential the image
// carries, for example to replace an expired or reissued one.
func RebakePNG(img []byte, payload []byte) ([]byte, error) {
	return bakePNG(img, payload, true)
}

func bakePNG(img, payload []byte, replace bool) ([]byte, error) {
	if len(payload) > MaxImageSize {
		return nil, fmt.Errorf("%w: payload of %d bytes", ErrTooLarge, len(payload))
	}
	if _, err := classifyPayload(payload); err != nil {
		return nil, err
	}
	// Collect the chunks to keep while validating. An old credential chunk
	// is dropped when replacing and an error otherwise.
	type span struct{ start, end int }
	var kept []span
	size := ihdrEnd
	err := walkPNG(img, func(c chunk) error {
		switch {
		case isCredentialChunk(c):
			if !replace {
				return ErrAlreadyBaked
			}
		case c.start >= ihdrEnd:
			if n := len(kept); n > 0 && kept[n-1].end == c.start {
				kept[n-1].end = c.end // merge runs of kept chunks
			} else {
				kept = append(kept, span{c.start, c.end})
			}
			size += c.end - c.start
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	size += chunkOverhead + len(pngKeyword) + 5 + len(payload)
	if size > MaxImageSize {
		// Refused so that everything baked here can be unbaked here.
		return nil, fmt.Errorf("%w: baked image would be %d bytes, limit %d", ErrTooLarge, size, MaxImageSize)
	}
	out := make([]byte, 0, size)
	out = append(out, img[:ihdrEnd]...)
	out = appendCredentialChunk(out, payload)
	for _, k := range kept {
		out = append(out, img[k.start:k.end]...)
	}
	return out, nil
}

// appendCredentialChunk appends the complete iTXt chunk: uncompressed (flag 0,
// method 0) with empty language tag and translated keyword, as the
// specification requires.
func appendCredentialChunk(dst, payload []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(pngKeyword)+5+len(payload)))
	dst = append(dst, "iTXt"...)
	dst = append(dst, pngKeyword...)
	dst = append(dst, 0, 0, 0, 0, 0) // NUL, flag, method, language NUL, translated NUL
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start+4:]))
}
