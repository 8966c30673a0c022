package attest

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/insigne/insigne/badges"
)

// MaxPDFSize caps a PDF given to the verifier. An attestation is well
// under 100 KB; 16 MiB (the verifier's cap on any input) leaves room for
// one re-saved by an office suite.
const MaxPDFSize = badges.MaxInputSize

// maxEmbedded caps how many embedded-file streams are looked at, so that a
// file full of them costs no more than a few.
const maxEmbedded = 16

// ErrNoCredential is a PDF with no credential attached.
var ErrNoCredential = errors.New("this PDF holds no attached credential: it is not an Insigne attestation")

// ExtractCredential returns the credential attached to an attestation PDF.
//
// It is a small reader for one thing, written for hostile input rather
// than a general PDF library: it finds the /EmbeddedFile stream objects by
// scanning (the cross-reference table is not trusted, so a file whose text
// was edited and whose offsets moved is still read), takes each stream by
// its direct /Length or up to "endstream", inflates FlateDecode with the
// output capped at badges.MaxCredentialSize, and returns the first that is
// a JSON object or a compact JWS. The work is linear in the input, which
// is itself capped at MaxPDFSize.
func ExtractCredential(pdf []byte) ([]byte, error) {
	creds, err := extractCredentials(pdf, 1)
	if err != nil {
		return nil, err
	}
	return creds[0], nil
}

// MaxMergedCredentials caps the credentials read from one PDF (a merged
// PDF of a batch holds one per attestation; 16 MiB hold ~1,200), and
// maxInflated the bytes inflated from all of them together, so that a
// file of many small deflate bombs costs no more than a real one.
const (
	MaxMergedCredentials = 2000
	maxInflated          = 64 << 20
)

// ExtractCredentials returns every credential attached to a PDF, in the
// order of the file (which is the order of the pages in a merged PDF), at
// most MaxMergedCredentials.
func ExtractCredentials(pdf []byte) ([][]byte, error) {
	return extractCredentials(pdf, MaxMergedCredentials)
}

func extractCredentials(pdf []byte, limit int) ([][]byte, error) {
	if len(pdf) > MaxPDFSize {
		return nil, fmt.Errorf("the PDF is larger than %d MiB", MaxPDFSize>>20)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, errors.New("not a PDF (no %PDF- header)")
	}
	marker := []byte("/EmbeddedFile")
	seen, inflated := 0, 0
	var out [][]byte
	var lastErr error
	for pos := 0; seen < limit+maxEmbedded && len(out) < limit && inflated < maxInflated; {
		i := bytes.Index(pdf[pos:], marker)
		if i < 0 {
			break
		}
		at := pos + i
		pos = at + len(marker)
		// /EmbeddedFiles (the name tree) is not a stream.
		if pos < len(pdf) && isNameChar(pdf[pos]) {
			continue
		}
		seen++
		payload, err := embeddedStream(pdf, at)
		inflated += len(payload)
		if err != nil {
			lastErr = err
			continue
		}
		t := bytes.TrimSpace(bytes.TrimPrefix(payload, []byte("\xef\xbb\xbf")))
		if len(t) > 0 && (t[0] == '{' || isJWS(t)) {
			out = append(out, t)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoCredential, lastErr)
	}
	return nil, ErrNoCredential
}

func isNameChar(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '\f', 0, '/', '<', '>', '[', ']', '(', ')', '{', '}', '%':
		return false
	}
	return true
}

func isJWS(t []byte) bool {
	return len(t) > 10 && bytes.Count(t, []byte(".")) == 2 && bytes.IndexAny(t, " \n{") < 0
}

// embeddedStream reads the stream of the object whose dictionary holds the
// /EmbeddedFile name at position at.
func embeddedStream(pdf []byte, at int) ([]byte, error) {
	// The dictionary starts at the last "<<" before the name that is not
	// closed before it; nested dictionaries (/Params) come after /Type in
	// what fpdf and most writers produce, so the nearest "<<" is the one.
	start := bytes.LastIndex(pdf[max(0, at-4096):at], []byte("<<"))
	if start < 0 {
		return nil, errors.New("embedded file without a dictionary")
	}
	start += max(0, at-4096)
	rest := pdf[at:]
	s := bytes.Index(rest, []byte("stream"))
	if s < 0 || s > 8192 {
		return nil, errors.New("embedded file without a stream")
	}
	dict := pdf[start : at+s]
	if bytes.Contains(dict, []byte("endobj")) {
		return nil, errors.New("embedded file object has no stream")
	}
	data := at + s + len("stream")
	if data < len(pdf) && pdf[data] == '\r' {
		data++
	}
	if data < len(pdf) && pdf[data] == '\n' {
		data++
	}
	end := -1
	if n, ok := directLength(dict); ok && n >= 0 && data+n <= len(pdf) {
		tail := bytes.TrimLeft(pdf[data+n:min(len(pdf), data+n+32)], "\r\n \t")
		if bytes.HasPrefix(tail, []byte("endstream")) {
			end = data + n
		}
	}
	if end < 0 {
		e := bytes.Index(pdf[data:], []byte("endstream"))
		if e < 0 {
			return nil, errors.New("embedded file stream is not terminated")
		}
		end = data + e
		for end > data && (pdf[end-1] == '\n' || pdf[end-1] == '\r') {
			end--
		}
	}
	raw := pdf[data:end]
	filter, err := streamFilter(dict)
	if err != nil {
		return nil, err
	}
	switch filter {
	case "":
		if len(raw) > badges.MaxCredentialSize {
			return nil, errors.New("embedded file is too large")
		}
		return raw, nil
	case "FlateDecode":
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("embedded file: %w", err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, badges.MaxCredentialSize+1))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("embedded file: %w", err)
		}
		if len(out) > badges.MaxCredentialSize {
			return nil, errors.New("embedded file inflates beyond the size of a credential")
		}
		return out, nil
	}
	return nil, fmt.Errorf("embedded file filter %s is not supported", filter)
}

// directLength reads "/Length 123" (not an indirect "/Length 12 0 R").
func directLength(dict []byte) (int, bool) {
	i := bytes.Index(dict, []byte("/Length"))
	if i < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(dict[i+len("/Length"):], " \t\r\n")
	j := 0
	for j < len(rest) && j < 10 && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j == 0 {
		return 0, false
	}
	after := bytes.TrimLeft(rest[j:], " \t\r\n")
	// "12 0 R" is a reference, not a length.
	if len(after) > 0 && after[0] >= '0' && after[0] <= '9' {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest[:j]))
	return n, err == nil
}

// streamFilter returns the stream's single filter name, "" for none.
func streamFilter(dict []byte) (string, error) {
	i := bytes.Index(dict, []byte("/Filter"))
	if i < 0 {
		return "", nil
	}
	rest := bytes.TrimLeft(dict[i+len("/Filter"):], " \t\r\n")
	if len(rest) > 0 && rest[0] == '[' {
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if k := bytes.IndexByte(rest, ']'); k < 0 || bytes.Count(rest[:k], []byte("/")) != 1 {
			return "", errors.New("embedded file with a chain of filters is not supported")
		}
	}
	if len(rest) == 0 || rest[0] != '/' {
		return "", errors.New("embedded file filter is not a name")
	}
	j := 1
	for j < len(rest) && isNameChar(rest[j]) {
		j++
	}
	return string(rest[1:j]), nil
}

// Extractor lets badges.Verifier read attestation PDFs: the credential
// inside is verified like any other, offline if need be.
type Extractor struct{}

// Sniff implements badges.Extractor.
func (Extractor) Sniff(input []byte) bool { return bytes.HasPrefix(input, []byte("%PDF-")) }

// Extract implements badges.Extractor.
func (Extractor) Extract(_ context.Context, input []byte) ([]byte, string, []badges.Check, error) {
	p, err := ExtractCredential(input)
	if err != nil {
		return nil, "pdf", nil, err
	}
	return p, "pdf", []badges.Check{{Name: "container", OK: true, Message: "credential attached to the PDF (" + AttachmentName + ")"}}, nil
}

var _ badges.Extractor = Extractor{}
