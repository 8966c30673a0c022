// Package dataintegrity creates and verifies W3C Data Integrity proofs with
// the eddsa-rdfc-2022 cryptosuite (Ed25519 over RDFC-1.0 canonical N-Quads),
// and verifies the two legacy forms that share its algorithm: the eddsa-2022
// cryptosuite name and Ed25519Signature2020.
//
// Documents are handled as decoded JSON (map[string]any) so that members this
// package does not know are signed and verified as they are.
package dataintegrity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/insigne/insigne/internal/base58"
)

// Proof types and cryptosuites.
const (
	TypeDataIntegrity        = "DataIntegrityProof"
	TypeEd25519Signature2020 = "Ed25519Signature2020"
	SuiteEdDSARDFC2022       = "eddsa-rdfc-2022"
	SuiteEdDSA2022           = "eddsa-2022" // earlier name of the same algorithm
	PurposeAssertion         = "assertionMethod"
)

// Canonicalizer produces RDFC-1.0 canonical N-Quads for a JSON-LD document.
type Canonicalizer interface {
	Canonicalize(doc any) (string, error)
}

// Options describe the proof to create.
type Options struct {
	VerificationMethod string
	Created            time.Time // zero: now
	Purpose            string    // empty: assertionMethod
}

// Sign returns a copy of doc with a DataIntegrityProof (eddsa-rdfc-2022)
// appended to its proofs. doc itself is not modified. A document that
// already has proofs keeps them (a proof set): the new proof signs the
// document without any of them.
func Sign(c Canonicalizer, doc map[string]any, key ed25519.PrivateKey, opts Options) (map[string]any, error) {
	s, err := NewSigner(c, key, opts)
	if err != nil {
		return nil, err
	}
	return s.Sign(doc)
}

// Signer signs many documents with one key and one proof configuration,
// whose canonical form is computed once for each @context.
type Signer struct {
	c     Canonicalizer
	key   ed25519.PrivateKey
	proof map[string]any // without @context and proofValue

	mu   sync.Mutex
	cfgs map[string][]byte // @context as JSON → hash of the proof configuration
}

// NewSigner returns a Signer; see Sign.
func NewSigner(c Canonicalizer, key ed25519.PrivateKey, opts Options) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("dataintegrity: signing key is not an Ed25519 private key")
	}
	if opts.VerificationMethod == "" {
		return nil, errors.New("dataintegrity: verification method is required")
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Now()
	}
	purpose := opts.Purpose
	if purpose == "" {
		purpose = PurposeAssertion
	}
	proof := map[string]any{
		"type":               TypeDataIntegrity,
		"cryptosuite":        SuiteEdDSARDFC2022,
		"created":            created.UTC().Format(time.RFC3339),
		"verificationMethod": opts.VerificationMethod,
		"proofPurpose":       purpose,
	}
	return &Signer{c: c, key: key, proof: proof, cfgs: map[string][]byte{}}, nil
}

// Sign signs doc as the function Sign does.
func (s *Signer) Sign(doc map[string]any) (map[string]any, error) {
	return s.SignCanonical(doc, "")
}

// SignCanonical is Sign for a document whose canonical N-Quads (without
// its proofs) the caller already has; "" to have them computed.
func (s *Signer) SignCanonical(doc map[string]any, docNQ string) (map[string]any, error) {
	if docNQ == "" {
		var err error
		if docNQ, err = s.c.Canonicalize(unsecured(doc)); err != nil {
			return nil, fmt.Errorf("dataintegrity: canonicalizing the document: %w", err)
		}
	}
	ph, err := s.configHash(doc["@context"])
	if err != nil {
		return nil, err
	}
	dh := sha256.Sum256([]byte(docNQ))
	proof := make(map[string]any, len(s.proof)+1)
	for k, v := range s.proof {
		proof[k] = v
	}
	proof["proofValue"] = "z" + base58.Encode(ed25519.Sign(s.key, append(ph[:len(ph):len(ph)], dh[:]...)))

	out := make(map[string]any, len(doc)+1)
	for k, v := range doc {
		out[k] = v
	}
	out["proof"] = append(Proofs(doc), proof)
	return out, nil
}

// configHash is SHA-256 of the canonical proof configuration.
func (s *Signer) configHash(ctx any) ([]byte, error) {
	key, err := json.Marshal(ctx)
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: the document's @context: %w", err)
	}
	s.mu.Lock()
	h, ok := s.cfgs[string(key)]
	s.mu.Unlock()
	if ok {
		return h, nil
	}
	cfg := make(map[string]any, len(s.proof)+1)
	for k, v := range s.proof {
		cfg[k] = v
	}
	cfg["@context"] = ctx
	nq, err := s.c.Canonicalize(cfg)
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: canonicalizing the proof options: %w", err)
	}
	sum := sha256.Sum256([]byte(nq))
	h = sum[:]
	s.mu.Lock()
	if len(s.cfgs) < 16 {
		s.cfgs[string(key)] = h
	}
	s.mu.Unlock()
	return h, nil
}

// unsecured is doc without its proofs.
func unsecured(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			out[k] = v
		}
	}
	return out
}

// Proofs returns the document's proofs as a list, whether "proof" holds one
// object or an array. Members that are not objects are left out.
func Proofs(doc map[string]any) []any {
	var list []any
	switch p := doc["proof"].(type) {
	case map[string]any:
		list = []any{p}
	case []any:
		for _, e := range p {
			if m, ok := e.(map[string]any); ok {
				list = append(list, m)
			}
		}
	}
	return list
}

// Supported reports whether this package can verify the proof.
func Supported(proof map[string]any) bool {
	return isEdDSA(proof) || (proof["type"] == TypeDataIntegrity && proof["cryptosuite"] == SuiteECDSASD2023)
}

// isEdDSA reports whether the proof is one of the Ed25519 RDFC suites.
func isEdDSA(proof map[string]any) bool {
	switch proof["type"] {
	case TypeDataIntegrity:
		cs := proof["cryptosuite"]
		return cs == SuiteEdDSARDFC2022 || cs == SuiteEdDSA2022
	case TypeEd25519Signature2020:
		return true
	}
	return false
}

// Select returns the first supported proof with the given purpose, so that a
// document with several proofs verifies when any one of them is ours to check
// (selected by type and cryptosuite, never by position).
func Select(doc map[string]any, purpose string) (map[string]any, error) {
	proofs := Proofs(doc)
	if len(proofs) == 0 {
		return nil, ErrNoProof
	}
	for _, p := range proofs {
		m := p.(map[string]any)
		if Supported(m) && m["proofPurpose"] == purpose {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%w: none of the %d proofs is a supported Data Integrity proof for %s", ErrUnsupported, len(proofs), purpose)
}

// Errors a caller may want to tell apart.
var (
	ErrNoProof      = errors.New("dataintegrity: the document has no proof")
	ErrUnsupported  = errors.New("dataintegrity: unsupported proof")
	ErrBadSignature = errors.New("dataintegrity: the signature does not match the document")
)

// Verify checks proof (one of doc's proofs, see Select) with the public key
// of its verification method. The caller resolves the key and decides
// whether its controller may speak for the issuer.
func Verify(c Canonicalizer, doc map[string]any, proof map[string]any, key ed25519.PublicKey) error {
	if !isEdDSA(proof) {
		return fmt.Errorf("%w: type %v, cryptosuite %v", ErrUnsupported, proof["type"], proof["cryptosuite"])
	}
	if len(key) != ed25519.PublicKeySize {
		return errors.New("dataintegrity: the verification key is not an Ed25519 public key")
	}
	if c, ok := proof["created"]; ok {
		s, _ := c.(string)
		if _, err := parseDateTime(s); err != nil {
			return fmt.Errorf("dataintegrity: proof created %q is not a date-time", c)
		}
	}
	pv, _ := proof["proofValue"].(string)
	if len(pv) < 2 || pv[0] != 'z' {
		return errors.New("dataintegrity: proofValue is not a base58btc multibase value")
	}
	if len(pv) > 128 { // an Ed25519 signature takes 88 characters; base58 decoding is quadratic
		return fmt.Errorf("dataintegrity: proofValue is %d characters long, too long for an Ed25519 signature", len(pv))
	}
	sig, err := base58.Decode(pv[1:])
	if err != nil {
		return fmt.Errorf("dataintegrity: proofValue: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("dataintegrity: proofValue holds %d bytes, an Ed25519 signature has 64", len(sig))
	}
	config := make(map[string]any, len(proof))
	for k, v := range proof {
		if k != "proofValue" {
			config[k] = v
		}
	}
	data, err := hashData(c, doc, config)
	if err != nil {
		return err
	}
	if !ed25519.Verify(key, data, sig) {
		return ErrBadSignature
	}
	return nil
}

// hashData is SHA-256(canonical proof configuration) ‖ SHA-256(canonical
// document without proof): the proof hash comes first (vc-di-eddsa §3.3.4).
func hashData(c Canonicalizer, doc, proofConfig map[string]any) ([]byte, error) {
	unsecured := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			unsecured[k] = v
		}
	}
	cfg := make(map[string]any, len(proofConfig)+1)
	for k, v := range proofConfig {
		cfg[k] = v
	}
	cfg["@context"] = doc["@context"]

	docNQ, err := c.Canonicalize(unsecured)
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: canonicalizing the document: %w", err)
	}
	cfgNQ, err := c.Canonicalize(cfg)
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: canonicalizing the proof options: %w", err)
	}
	ph := sha256.Sum256([]byte(cfgNQ))
	dh := sha256.Sum256([]byte(docNQ))
	return append(ph[:], dh[:]...), nil
}

// parseDateTime accepts an XML Schema dateTime as used in proofs: RFC 3339,
// with or without fractional seconds.
func parseDateTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}
