package dataintegrity

// Verification of ecdsa-sd-2023 derived proofs (W3C Data Integrity ECDSA
// Cryptosuites v1.0, "Verify Derived Proof (ecdsa-sd-2023)"): the holder
// reveals part of a credential; the issuer's P-256 key signs the mandatory
// statements (through the base signature) and an ephemeral P-256 key, whose
// per-statement signatures cover the other revealed statements.
//
// Only verification is implemented; base proofs (header 0xd9 0x5d 0x00) and
// derivation are not.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// SuiteECDSASD2023 is the cryptosuite name of ECDSA selective disclosure.
const SuiteECDSASD2023 = "ecdsa-sd-2023"

// Limits on a derived proof value. A derived proof carries one 64-byte
// signature per non-mandatory revealed statement and one 32-byte label per
// blank node; the caps stay far above any credential while keeping the
// work on hostile input bounded.
const (
	maxSDProofValueLen = 4 << 20 // characters of the multibase proofValue
	maxSDSignatures    = 50_000
	maxSDLabels        = 50_000
	maxSDMandatory     = 100_000
)

// Sizes fixed by the cryptosuite for P-256 / SHA-256.
const (
	sdSignatureLen = 64 // IEEE P1363 r‖s
	sdHMACLen      = 32 // HMAC-SHA-256 blank node identifiers
	sdPublicKeyLen = 35 // multicodec p256-pub (varint 0x1200 = 0x80 0x24) ‖ 33-byte compressed point
)

var sdDerivedHeader = []byte{0xd9, 0x5d, 0x01}

// derivedProof is the decoded proofValue of an ecdsa-sd-2023 derived proof.
type derivedProof struct {
	baseSignature    []byte
	publicKey        []byte            // multicodec-prefixed, as signed by the base signature
	signatures       [][]byte          // one per non-mandatory statement, in order
	labelMap         map[string]string // "c14nN" -> "u" + base64url(HMAC id)
	mandatoryIndexes []uint64
}

// VerifyECDSASD checks an ecdsa-sd-2023 derived proof (one of doc's proofs)
// with the issuer's P-256 public key, the key of the proof's verification
// method. It returns ErrBadSignature when a signature does not match and
// other errors for proofs that are malformed or that this code refuses.
func VerifyECDSASD(c Canonicalizer, doc map[string]any, proof map[string]any, key *ecdsa.PublicKey) error {
	if proof["type"] != TypeDataIntegrity || proof["cryptosuite"] != SuiteECDSASD2023 {
		return fmt.Errorf("%w: type %v, cryptosuite %v (want %s %s)", ErrUnsupported, proof["type"], proof["cryptosuite"], TypeDataIntegrity, SuiteECDSASD2023)
	}
	if key == nil || key.Curve != elliptic.P256() {
		return errors.New("dataintegrity: the verification key is not a P-256 public key")
	}
	if _, err := key.Bytes(); err != nil { // rejects points not on the curve
		return fmt.Errorf("dataintegrity: the verification key is not a valid P-256 public key: %v", err)
	}
	if cr, ok := proof["created"]; ok {
		s, _ := cr.(string)
		if _, err := parseDateTime(s); err != nil {
			return fmt.Errorf("dataintegrity: proof created %q is not a date-time", cr)
		}
	}
	pv, ok := proof["proofValue"].(string)
	if !ok {
		return errors.New("dataintegrity: ecdsa-sd-2023 proof has no proofValue string")
	}
	dp, err := parseDerivedProofValue(pv)
	if err != nil {
		return err
	}
	ephemeral, err := decodeP256Multikey(dp.publicKey)
	if err != nil {
		return err
	}

	// createVerifyData: the proof hash, then the relabelled canonical
	// statements of the revealed document split into mandatory and not.
	config := make(map[string]any, len(proof)+1)
	for k, v := range proof {
		if k != "proofValue" {
			config[k] = v
		}
	}
	config["@context"] = doc["@context"]
	cfgNQ, err := c.Canonicalize(config)
	if err != nil {
		return fmt.Errorf("dataintegrity: canonicalizing the proof options: %w", err)
	}
	proofHash := sha256.Sum256([]byte(cfgNQ))

	unsecured := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			unsecured[k] = v
		}
	}
	docNQ, err := c.Canonicalize(unsecured)
	if err != nil {
		return fmt.Errorf("dataintegrity: canonicalizing the document: %w", err)
	}
	quads, err := relabelNQuads(docNQ, dp.labelMap)
	if err != nil {
		return err
	}

	isMandatory := make(map[uint64]bool, len(dp.mandatoryIndexes))
	for _, i := range dp.mandatoryIndexes {
		if i >= uint64(len(quads)) {
			return fmt.Errorf("dataintegrity: ecdsa-sd-2023 mandatory index %d is out of range: the revealed document has %d statements", i, len(quads))
		}
		isMandatory[i] = true
	}
	mandatory := sha256.New()
	var nonMandatory []string
	for i, q := range quads {
		if isMandatory[uint64(i)] {
			mandatory.Write([]byte(q))
		} else {
			nonMandatory = append(nonMandatory, q)
		}
	}
	if len(nonMandatory) != len(dp.signatures) {
		return fmt.Errorf("%w: the proof carries %d statement signatures for %d non-mandatory statements", ErrBadSignature, len(dp.signatures), len(nonMandatory))
	}

	// The base signature covers proofHash ‖ ephemeral public key (with its
	// multicodec header) ‖ mandatoryHash.
	toVerify := make([]byte, 0, sha256.Size*2+len(dp.publicKey))
	toVerify = append(toVerify, proofHash[:]...)
	toVerify = append(toVerify, dp.publicKey...)
	toVerify = mandatory.Sum(toVerify)
	if !verifyP1363(key, toVerify, dp.baseSignature) {
		return ErrBadSignature
	}
	for i, q := range nonMandatory {
		if !verifyP1363(ephemeral, []byte(q), dp.signatures[i]) {
			return fmt.Errorf("%w (statement signature %d)", ErrBadSignature, i)
		}
	}
	return nil
}

// verifyP1363 verifies an ECDSA P-256 signature r‖s over SHA-256(msg).
func verifyP1363(key *ecdsa.PublicKey, msg, sig []byte) bool {
	if len(sig) != sdSignatureLen {
		return false
	}
	h := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(key, h[:], r, s)
}

// decodeP256Multikey decodes the multicodec-prefixed compressed P-256 key
// of a derived proof.
func decodeP256Multikey(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) != sdPublicKeyLen || b[0] != 0x80 || b[1] != 0x24 {
		return nil, errors.New("dataintegrity: ecdsa-sd-2023 ephemeral key is not a multicodec P-256 compressed public key")
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b[2:])
	if x == nil {
		return nil, errors.New("dataintegrity: ecdsa-sd-2023 ephemeral key is not a point on P-256")
	}
	uncompressed := make([]byte, 65)
	uncompressed[0] = 4
	x.FillBytes(uncompressed[1:33])
	y.FillBytes(uncompressed[33:])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), uncompressed)
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: ecdsa-sd-2023 ephemeral key: %v", err)
	}
	return pub, nil
}

// relabelNQuads replaces each canonical blank node label _:c14nN of the
// canonical N-Quads nq with _:<labelMap["c14nN"]> and returns the statements
// (each with its final newline) sorted in code point order.
func relabelNQuads(nq string, labelMap map[string]string) ([]string, error) {
	if nq == "" {
		return nil, nil
	}
	if !strings.HasSuffix(nq, "\n") {
		return nil, errors.New("dataintegrity: canonical N-Quads do not end with a newline")
	}
	lines := strings.Split(nq[:len(nq)-1], "\n")
	out := make([]string, 0, len(lines))
	for n, line := range lines {
		r, err := relabelLine(line, labelMap)
		if err != nil {
			return nil, fmt.Errorf("dataintegrity: canonical statement %d: %w", n, err)
		}
		out = append(out, r+"\n")
	}
	sort.Strings(out)
	return out, nil
}

// relabelLine rewrites the blank node terms of one canonical N-Quad
// (terms separated by single spaces, ending in " ."). Literals are skipped
// whole so that text looking like a label inside them is left alone.
func relabelLine(line string, labelMap map[string]string) (string, error) {
	var b strings.Builder
	b.Grow(len(line) + 64)
	i, terms := 0, 0
	for {
		if i >= len(line) {
			return "", errors.New("statement does not end with \" .\"")
		}
		if line[i:] == "." {
			if terms < 3 || terms > 4 {
				return "", fmt.Errorf("statement has %d terms", terms)
			}
			b.WriteByte('.')
			return b.String(), nil
		}
		start := i
		switch {
		case line[i] == '<':
			j := strings.IndexByte(line[i:], '>')
			if j < 0 {
				return "", errors.New("unterminated IRI")
			}
			i += j + 1
			b.WriteString(line[start:i])
		case strings.HasPrefix(line[i:], "_:"):
			j := strings.IndexByte(line[i:], ' ')
			if j < 0 {
				return "", errors.New("unterminated blank node label")
			}
			label := line[i+2 : i+j]
			repl, ok := labelMap[label]
			if !ok {
				return "", fmt.Errorf("blank node _:%s is not in the proof's label map", label)
			}
			b.WriteString("_:")
			b.WriteString(repl)
			i += j
		case line[i] == '"':
			i++
			for i < len(line) && line[i] != '"' {
				if line[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(line) {
				return "", errors.New("unterminated literal")
			}
			i++ // closing quote
			// datatype or language tag, up to the separating space
			j := strings.IndexByte(line[i:], ' ')
			if j < 0 {
				return "", errors.New("unterminated literal")
			}
			i += j
			b.WriteString(line[start:i])
		default:
			return "", fmt.Errorf("unexpected character %q", line[i])
		}
		terms++
		if i >= len(line) || line[i] != ' ' {
			return "", errors.New("terms are not separated by a space")
		}
		b.WriteByte(' ')
		i++
	}
}

// parseDerivedProofValue decodes an ecdsa-sd-2023 derived proofValue:
// "u" + base64url-no-pad(0xd9 0x5d 0x01 ‖ CBOR [baseSignature, publicKey,
// signatures, compressedLabelMap, mandatoryIndexes]).
func parseDerivedProofValue(pv string) (*derivedProof, error) {
	if len(pv) > maxSDProofValueLen {
		return nil, fmt.Errorf("dataintegrity: ecdsa-sd-2023 proofValue is %d characters long, more than the %d accepted", len(pv), maxSDProofValueLen)
	}
	if len(pv) < 2 || pv[0] != 'u' {
		return nil, errors.New("dataintegrity: ecdsa-sd-2023 proofValue is not a base64url-no-pad multibase value (\"u\" prefix)")
	}
	if strings.ContainsAny(pv, "\r\n") { // the decoder would skip them silently
		return nil, errors.New("dataintegrity: ecdsa-sd-2023 proofValue contains a line break")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(pv[1:])
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: ecdsa-sd-2023 proofValue is not base64url without padding: %v", err)
	}
	if !bytes.HasPrefix(raw, sdDerivedHeader) {
		if bytes.HasPrefix(raw, []byte{0xd9, 0x5d, 0x00}) {
			return nil, errors.New("dataintegrity: ecdsa-sd-2023 proofValue is a base proof; only the holder's derived proof can be verified")
		}
		return nil, errors.New("dataintegrity: ecdsa-sd-2023 proofValue does not start with the derived proof header 0xd9 0x5d 0x01")
	}
	d := &cborDecoder{b: raw[len(sdDerivedHeader):]}
	dp, err := d.derivedProof()
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: ecdsa-sd-2023 proofValue: %w", err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("dataintegrity: ecdsa-sd-2023 proofValue: %d bytes after the CBOR value", len(d.b))
	}
	return dp, nil
}

// cborDecoder reads the few CBOR (RFC 8949) items a derived proof holds:
// unsigned integers, byte strings, arrays and maps of definite length.
// Tags, indefinite lengths and every other type are refused.
type cborDecoder struct {
	b []byte
}

const (
	cborUint  = 0
	cborBytes = 2
	cborArray = 4
	cborMap   = 5
	cborTag   = 6
)

var cborTypeNames = [8]string{"unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag", "simple value or float"}

// head reads an item's initial byte and argument.
func (d *cborDecoder) head() (major byte, arg uint64, err error) {
	if len(d.b) == 0 {
		return 0, 0, errors.New("truncated CBOR")
	}
	ib := d.b[0]
	major, info := ib>>5, ib&0x1f
	d.b = d.b[1:]
	var n int
	switch {
	case info < 24:
		return major, uint64(info), nil
	case info == 24:
		n = 1
	case info == 25:
		n = 2
	case info == 26:
		n = 4
	case info == 27:
		n = 8
	case info == 31:
		return 0, 0, fmt.Errorf("indefinite-length CBOR %s is not accepted", cborTypeNames[major])
	default:
		return 0, 0, fmt.Errorf("malformed CBOR initial byte 0x%02x", ib)
	}
	if len(d.b) < n {
		return 0, 0, errors.New("truncated CBOR")
	}
	for _, c := range d.b[:n] {
		arg = arg<<8 | uint64(c)
	}
	d.b = d.b[n:]
	return major, arg, nil
}

// expect reads a head of the given major type.
func (d *cborDecoder) expect(want byte, what string) (uint64, error) {
	major, arg, err := d.head()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if major != want {
		if major == cborTag {
			return 0, fmt.Errorf("%s: CBOR tags are not allowed", what)
		}
		return 0, fmt.Errorf("%s: want a CBOR %s, got a %s", what, cborTypeNames[want], cborTypeNames[major])
	}
	return arg, nil
}

func (d *cborDecoder) byteString(what string, size int) ([]byte, error) {
	n, err := d.expect(cborBytes, what)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)) {
		return nil, fmt.Errorf("%s: truncated CBOR byte string", what)
	}
	if size >= 0 && n != uint64(size) {
		return nil, fmt.Errorf("%s is %d bytes long, want %d", what, n, size)
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v, nil
}

// count reads the head of an array or map and checks that its length is
// plausible: at most max, and no more entries than bytes left.
func (d *cborDecoder) count(major byte, what string, max int) (int, error) {
	n, err := d.expect(major, what)
	if err != nil {
		return 0, err
	}
	if n > uint64(max) {
		return 0, fmt.Errorf("%s has %d entries, more than the %d accepted", what, n, max)
	}
	if n > uint64(len(d.b)) {
		return 0, fmt.Errorf("%s: truncated CBOR", what)
	}
	return int(n), nil
}

func (d *cborDecoder) derivedProof() (*derivedProof, error) {
	n, err := d.count(cborArray, "derived proof", 5)
	if err != nil {
		return nil, err
	}
	if n != 5 {
		return nil, fmt.Errorf("derived proof is a CBOR array of %d items, want 5", n)
	}
	dp := &derivedProof{}
	if dp.baseSignature, err = d.byteString("base signature", sdSignatureLen); err != nil {
		return nil, err
	}
	if dp.publicKey, err = d.byteString("ephemeral public key", sdPublicKeyLen); err != nil {
		return nil, err
	}
	if dp.publicKey[0] != 0x80 || dp.publicKey[1] != 0x24 {
		return nil, errors.New("ephemeral public key does not have the multicodec p256-pub header 0x80 0x24")
	}

	if n, err = d.count(cborArray, "signatures", maxSDSignatures); err != nil {
		return nil, err
	}
	dp.signatures = make([][]byte, n)
	for i := range dp.signatures {
		if dp.signatures[i], err = d.byteString("signature "+strconv.Itoa(i), sdSignatureLen); err != nil {
			return nil, err
		}
	}

	if n, err = d.count(cborMap, "label map", maxSDLabels); err != nil {
		return nil, err
	}
	dp.labelMap = make(map[string]string, n)
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		k, err := d.expect(cborUint, "label map key")
		if err != nil {
			return nil, err
		}
		v, err := d.byteString("label map value", sdHMACLen)
		if err != nil {
			return nil, err
		}
		key := "c14n" + strconv.FormatUint(k, 10)
		if _, dup := dp.labelMap[key]; dup {
			return nil, fmt.Errorf("label map has key %d twice", k)
		}
		label := "u" + base64.RawURLEncoding.EncodeToString(v)
		if seen[label] {
			return nil, fmt.Errorf("label map maps two blank nodes to the same label %s", label)
		}
		seen[label] = true
		dp.labelMap[key] = label
	}

	if n, err = d.count(cborArray, "mandatory indexes", maxSDMandatory); err != nil {
		return nil, err
	}
	dp.mandatoryIndexes = make([]uint64, n)
	for i := range dp.mandatoryIndexes {
		if dp.mandatoryIndexes[i], err = d.expect(cborUint, "mandatory index"); err != nil {
			return nil, err
		}
	}
	return dp, nil
}
