package badges

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/insigne/insigne/badges/bake"
	"github.com/insigne/insigne/badges/dataintegrity"
	"github.com/insigne/insigne/badges/statuslist"
	"github.com/insigne/insigne/badges/vcjwt"
)

// Input limits: a credential, even a CLR with many nested credentials, is far
// smaller; an image a little larger.
const (
	MaxCredentialSize = 4 << 20
	MaxInputSize      = 16 << 20
	maxNesting        = 4 // endorsement of an endorsement of …, credentials inside a CLR
)

// Context URLs and patterns (OB 3.0 §B.1; notes §1).
const (
	ContextVC2 = "https://www.w3.org/ns/credentials/v2"
	ContextVC1 = "https://www.w3.org/2018/credentials/v1"
)

var (
	obContext      = regexp.MustCompile(`^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$`)
	obContextAlias = map[string]bool{
		"https://purl.imsglobal.org/spec/ob/v3p0/context.json":           true,
		"https://purl.imsglobal.org/spec/ob/v3p0/context/ob_v3p0.jsonld": true,
	}
	clrContext = regexp.MustCompile(`^https://purl\.imsglobal\.org/spec/clr/v2p0/context(-2\.\d\.\d)*\.json$`)
)

// ErrUnusableInput wraps every error about input that holds no credential
// at all (not JSON, not an image with a credential, not a JWS…), as opposed
// to a credential that fails verification.
var ErrUnusableInput = errors.New("unusable input")

// Extractor pulls a credential out of a container format the badges package
// does not know (the attest package reads attestation PDFs).
type Extractor interface {
	// Sniff reports whether the input is in the extractor's format.
	Sniff(input []byte) bool
	// Extract returns the credential payload (JSON or compact JWS) and any
	// checks of the container itself (e.g. "the PDF is the one issued").
	Extract(ctx context.Context, input []byte) (payload []byte, format string, checks []Check, err error)
}

// Verifier checks credentials in the order the OB 3.0 specification gives
// (verification.md): parse, context and type, JSON Schema, subject, proof
// and issuer, dates, status, endorsements and nested credentials.
// It is safe for concurrent use.
type Verifier struct {
	schemas    *Schemas
	canon      dataintegrity.Canonicalizer
	resolver   *Resolver
	docs       DocumentFetcher
	extractors []Extractor
	trusted    func(issuerID string, k ResolvedKey) bool
	lists      *listVerdicts
}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	Schemas *Schemas
	Canon   dataintegrity.Canonicalizer
	// Docs fetches key documents and status lists; nil verifies offline.
	Docs       DocumentFetcher
	Extractors []Extractor
	// Trusted, when set, may confirm that a key belongs to an issuer
	// without the network (the service knows its own issuers' keys).
	Trusted func(issuerID string, k ResolvedKey) bool
}

// NewVerifier returns a verifier.
func NewVerifier(c VerifierConfig) *Verifier {
	return &Verifier{
		schemas: c.Schemas, canon: c.Canon, docs: c.Docs, extractors: c.Extractors,
		resolver: &Resolver{Docs: c.Docs}, trusted: c.Trusted,
		lists: &listVerdicts{m: make(map[[sha256.Size]byte]time.Time)},
	}
}

// Resolver returns the key resolver the verifier uses.
func (v *Verifier) Resolver() *Resolver { return v.resolver }

// Options for one verification.
type Options struct {
	At time.Time // the time to judge validity at; zero: now
}

// Verify verifies a credential given as JSON, a compact JWS, a baked PNG or
// SVG, or any format an Extractor knows. The error is non-nil only for
// unusable input (it wraps ErrUnusableInput); the report then says why.
func (v *Verifier) Verify(ctx context.Context, input []byte, opts Options) (*Report, error) {
	if opts.At.IsZero() {
		opts.At = time.Now()
	}
	r := &Report{}
	fail := func(format string, args ...any) (*Report, error) {
		msg := fmt.Sprintf(format, args...)
		r.add("parse", false, msg)
		r.finish()
		return r, fmt.Errorf("%w: %s", ErrUnusableInput, msg)
	}
	if len(input) > MaxInputSize {
		return fail("the input is larger than %d MiB", MaxInputSize>>20)
	}
	payload, format, containerChecks, err := v.unwrap(ctx, input)
	r.Format = format
	if err != nil {
		return fail("%v", err)
	}
	r.Checks = append(r.Checks, containerChecks...)
	if len(payload) > MaxCredentialSize {
		return fail("the credential is larger than %d MiB", MaxCredentialSize>>20)
	}
	trimmed := bytes.TrimSpace(payload)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		var doc map[string]any
		if err := json.Unmarshal(trimmed, &doc); err != nil {
			return fail("the credential is not valid JSON: %v", err)
		}
		r.add("parse", true, "read a JSON credential"+from(format))
		v.verifyJSON(ctx, r, trimmed, doc, nil, opts, 0)
	case vcjwt.LooksLikeJWS(trimmed):
		r.add("parse", true, "read a compact JWS (VC-JWT)"+from(format))
		v.verifyJWT(ctx, r, string(trimmed), opts, 0)
	default:
		return fail("no credential found: expected a JSON object or a compact JWS")
	}
	return r.finish(), nil
}

func from(format string) string {
	switch format {
	case "png", "svg":
		return " baked in a " + strings.ToUpper(format) + " image"
	case "json", "jws", "":
		return ""
	}
	return " from a " + strings.ToUpper(format)
}

// unwrap finds the credential payload inside the input.
func (v *Verifier) unwrap(ctx context.Context, input []byte) ([]byte, string, []Check, error) {
	for _, x := range v.extractors {
		if x.Sniff(input) {
			return x.Extract(ctx, input)
		}
	}
	t := bytes.TrimSpace(bytes.TrimPrefix(input, []byte("\xef\xbb\xbf")))
	switch {
	case bytes.HasPrefix(input, []byte("\x89PNG")):
		p, err := bake.UnbakePNG(input)
		return p, "png", nil, err
	case len(t) > 0 && t[0] == '<':
		p, err := bake.UnbakeSVG(input)
		return p, "svg", nil, err
	case len(t) > 0 && t[0] == '{':
		return t, "json", nil, nil
	case bytes.HasPrefix(input, []byte("%PDF-")):
		return nil, "pdf", nil, errors.New("this PDF is not an Insigne attestation (no credential attached)")
	}
	return t, "jws", nil, nil
}

// verifyJWT checks a VC-JWT and then the credential it carries.
func (v *Verifier) verifyJWT(ctx context.Context, r *Report, token string, opts Options, depth int) {
	var rk *ResolvedKey
	resolver := jwtResolverFunc(func(ctx context.Context, kid string, jwk *jose.JSONWebKey) (*ResolvedKey, error) {
		k, err := v.resolver.resolveJWT(ctx, kid, jwk)
		rk = k
		return k, err
	})
	res, err := vcjwt.Verify(ctx, token, resolver, nil)
	if err != nil {
		if res == nil || res.Credential == nil {
			r.add("proof", false, "the JWT signature could not be verified: "+plain(err))
			return
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(res.Credential, &doc); err != nil {
		r.add("proof", false, "the JWT carries no JSON credential")
		return
	}
	jwtCheck := func(r *Report, issuerID string) {
		if err != nil {
			r.add("proof", false, "the JWT signature could not be verified: "+plain(err))
			return
		}
		r.add("proof", true, fmt.Sprintf("the JWT (%s) signature is valid; %s", res.Alg, rk.How))
		// A kid under the issuer's address is confirmed when the issuer's
		// profile (its controller document) lists the same key.
		if !rk.Confirmed && rk.Controller == "" && issuerID != "" && controlledBy(issuerID, res.KeyID) &&
			v.resolver.listsKey(ctx, issuerID, rk.Public) {
			rk.Confirmed = true
		}
		v.issuerCheck(r, issuerID, rk, res.KeyID)
	}
	v.verifyJSON(ctx, r, res.Credential, doc, jwtCheck, opts, depth)
}

type jwtResolverFunc func(context.Context, string, *jose.JSONWebKey) (*ResolvedKey, error)

func (f jwtResolverFunc) ResolveJWTKey(ctx context.Context, kid string, jwk *jose.JSONWebKey) (crypto.PublicKey, error) {
	rk, err := f(ctx, kid, jwk)
	if err != nil {
		return nil, err
	}
	return rk.Public, nil
}

// verifyJSON runs the checks on a decoded credential. proofCheck, when not
// nil, replaces the embedded-proof check (the credential came in a JWT).
func (v *Verifier) verifyJSON(ctx context.Context, r *Report, raw []byte, doc map[string]any, proofCheck func(*Report, string), opts Options, depth int) {
	r.Credential = raw
	legacy := v.checkContextAndType(r, doc)
	r.Summary = summarize(doc, legacy)
	issuerID := r.Summary.IssuerID

	kind := credentialKind(doc)
	if legacy {
		r.add("schema", legacyRequired(doc) == nil, orDefault(legacyRequired(doc), "VCDM 1.1 credential: required members present (the OB 3.0 JSON Schema describes VCDM 2.0)"))
	} else if err := v.schemas.ValidateCredential(proofAsList(doc)); err != nil {
		r.add("schema", false, "the credential does not follow the 1EdTech JSON Schema: "+plain(err))
	} else {
		r.add("schema", true, "follows the 1EdTech "+kind+" JSON Schema")
	}

	if kind == "AchievementCredential" || kind == "ClrCredential" {
		subj, _ := doc["credentialSubject"].(map[string]any)
		_, hasID := subj["id"].(string)
		ids, _ := subj["identifier"].([]any)
		if hasID || len(ids) > 0 {
			r.add("subject", true, "the credential names its recipient")
		} else {
			r.add("subject", false, "credentialSubject has neither an id nor an identifier: it names no recipient")
		}
	}

	if proofCheck != nil {
		proofCheck(r, issuerID)
	} else {
		v.checkEmbeddedProof(ctx, r, doc, issuerID)
	}

	v.checkDates(r, doc, legacy, opts.At)
	v.checkStatus(ctx, r, doc, opts, depth)

	if depth < maxNesting {
		v.checkEndorsements(ctx, r, doc, opts, depth)
		if kind == "ClrCredential" {
			v.checkClrNested(ctx, r, doc, opts, depth)
		}
	}
}

// proofAsList returns doc with a single proof object wrapped in a list. The
// 1EdTech schema wants a list, VCDM 2.0 allows either and both mean the same
// RDF; widespread signers (the Digital Bazaar stack) write an object.
func proofAsList(doc map[string]any) map[string]any {
	p, ok := doc["proof"].(map[string]any)
	if !ok {
		return doc
	}
	c := make(map[string]any, len(doc))
	for k, v := range doc {
		c[k] = v
	}
	c["proof"] = []any{p}
	return c
}

func orDefault(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

func legacyRequired(doc map[string]any) error {
	for _, k := range []string{"id", "issuer", "issuanceDate", "credentialSubject"} {
		if _, ok := doc[k]; !ok {
			return fmt.Errorf("the VCDM 1.1 credential has no %s", k)
		}
	}
	return nil
}

// checkContextAndType reports whether the credential is a legacy VCDM 1.1 one.
func (v *Verifier) checkContextAndType(r *Report, doc map[string]any) (legacy bool) {
	ctxs, ok := doc["@context"].([]any)
	if !ok || len(ctxs) < 2 {
		r.add("context", false, "@context must be a list starting with the W3C credentials context and the Open Badges context")
	} else {
		first, _ := ctxs[0].(string)
		second, _ := ctxs[1].(string)
		legacy = first == ContextVC1
		ob := obContext.MatchString(second) || obContextAlias[second]
		clr := clrContext.MatchString(second)
		switch {
		case first != ContextVC2 && first != ContextVC1:
			r.add("context", false, fmt.Sprintf("the first @context must be %s, not %q", ContextVC2, first))
		case !ob && !clr:
			r.add("context", false, fmt.Sprintf("the second @context must be the Open Badges 3.0 context, not %q", second))
		default:
			msg := "W3C Verifiable Credentials 2.0 and Open Badges 3.0 contexts"
			if legacy {
				msg = "legacy W3C Verifiable Credentials 1.1 context with the Open Badges 3.0 context"
			}
			if obContextAlias[second] {
				msg += " (an unversioned alias of the Open Badges context)"
			}
			r.add("context", true, msg)
		}
	}
	types := stringList(doc["type"])
	switch {
	case !slices.Contains(types, "VerifiableCredential"):
		r.add("type", false, "type does not include VerifiableCredential")
	case credentialKind(doc) == "":
		r.add("type", false, fmt.Sprintf("type %v is not an Open Badges credential (OpenBadgeCredential, AchievementCredential, EndorsementCredential or ClrCredential)", types))
	default:
		r.add("type", true, "an Open Badges "+credentialKind(doc))
	}
	return legacy
}

func credentialKind(doc map[string]any) string {
	types := stringList(doc["type"])
	switch {
	case slices.Contains(types, "OpenBadgeCredential"), slices.Contains(types, "AchievementCredential"):
		return "AchievementCredential"
	case slices.Contains(types, "EndorsementCredential"):
		return "EndorsementCredential"
	case slices.Contains(types, "ClrCredential"):
		return "ClrCredential"
	}
	return ""
}

// checkEmbeddedProof verifies a Data Integrity proof and binds its key to
// the issuer.
func (v *Verifier) checkEmbeddedProof(ctx context.Context, r *Report, doc map[string]any, issuerID string) {
	proof, err := dataintegrity.Select(doc, dataintegrity.PurposeAssertion)
	if err != nil {
		r.add("proof", false, plain(err))
		return
	}
	vm, _ := proof["verificationMethod"].(string)
	rk, err := v.resolver.ResolveMethod(ctx, vm)
	if err != nil {
		r.add("proof", false, "the signing key could not be found: "+plain(err))
		return
	}
	if err := v.verifyProof(doc, proof, rk); err != nil {
		if errors.Is(err, dataintegrity.ErrBadSignature) {
			r.add("proof", false, "the signature does not match: the credential was modified after it was signed, or signed with another key")
		} else {
			r.add("proof", false, plain(err))
		}
		return
	}
	suite, _ := proof["cryptosuite"].(string)
	if suite == "" {
		suite, _ = proof["type"].(string)
	}
	r.add("proof", true, fmt.Sprintf("the %s signature is valid; %s", suite, rk.How))
	v.issuerCheck(r, issuerID, rk, vm)
}

// verifyProof checks the signature with the suite the proof names.
func (v *Verifier) verifyProof(doc, proof map[string]any, rk *ResolvedKey) error {
	if proof["cryptosuite"] == dataintegrity.SuiteECDSASD2023 {
		pub, ok := rk.Public.(*ecdsa.PublicKey)
		if !ok {
			return errors.New("ecdsa-sd-2023 needs a P-256 verification key")
		}
		return dataintegrity.VerifyECDSASD(v.canon, doc, proof, pub)
	}
	pub, ok := rk.Public.(ed25519.PublicKey)
	if !ok {
		return errors.New("the verification method is not an Ed25519 key")
	}
	return dataintegrity.Verify(v.canon, doc, proof, pub)
}

// issuerCheck binds the verified key to the credential's issuer.
func (v *Verifier) issuerCheck(r *Report, issuerID string, rk *ResolvedKey, location string) {
	switch {
	case issuerID == "":
		r.add("issuer", false, "the credential names no issuer")
	case rk.KeyOnly && rk.Controller != issuerID:
		// The 1EdTech validator accepts a bare did:key with no controller
		// check; we accept it too, but say that nothing binds it.
		r.warn("issuer", "the proof names a bare key ("+rk.Controller+"): nothing ties it to the issuer "+issuerID)
	case rk.Controller != "" && rk.Controller != issuerID:
		r.add("issuer", false, fmt.Sprintf("the key belongs to %s, not to the issuer %s", rk.Controller, issuerID))
	case rk.Controller == "" && location != "" && controlledBy(issuerID, location):
		rk.Controller = issuerID
		v.issuerConfirmed(r, issuerID, rk, "the key is published under the issuer's address")
	case rk.Controller == "":
		if v.trusted != nil && v.trusted(issuerID, *rk) {
			r.add("issuer", true, "the key is a known key of the issuer")
			return
		}
		r.warn("issuer", "nothing ties the key to the issuer "+issuerID+" (the key is embedded in the credential)")
	default:
		v.issuerConfirmed(r, issuerID, rk, "the key's controller is the issuer")
	}
}

func (v *Verifier) issuerConfirmed(r *Report, issuerID string, rk *ResolvedKey, msg string) {
	switch {
	case rk.Confirmed:
		r.add("issuer", true, msg+", as the issuer's own documents confirm")
	case v.trusted != nil && v.trusted(issuerID, *rk):
		r.add("issuer", true, msg+", a known key of this issuer")
	case v.docs == nil:
		r.warn("issuer", msg+" by the credential's own statement; confirming it with the issuer's published keys needs the network")
	default:
		r.warn("issuer", msg+" by the credential's own statement, but the issuer's published documents do not confirm it")
	}
}

// checkDates judges validFrom and validUntil (issuanceDate and
// expirationDate for VCDM 1.1) at the given time.
func (v *Verifier) checkDates(r *Report, doc map[string]any, legacy bool, at time.Time) {
	fromKey, untilKey := "validFrom", "validUntil"
	if legacy {
		fromKey, untilKey = "issuanceDate", "expirationDate"
	}
	if s, ok := doc[fromKey].(string); ok {
		t, err := parseTime(s)
		switch {
		case err != nil:
			r.add("valid-from", false, fmt.Sprintf("%s %q is not a date-time", fromKey, s))
		case t.After(at):
			r.add("valid-from", false, fmt.Sprintf("not valid yet: valid from %s", t.UTC().Format(time.RFC3339)))
		default:
			r.add("valid-from", true, "valid since "+t.UTC().Format(time.RFC3339))
		}
	} else {
		r.add("valid-from", false, "the credential has no "+fromKey)
	}
	if s, ok := doc[untilKey].(string); ok {
		t, err := parseTime(s)
		switch {
		case err != nil:
			r.add("valid-until", false, fmt.Sprintf("%s %q is not a date-time", untilKey, s))
		case t.Before(at):
			r.add("valid-until", false, "expired on "+t.UTC().Format(time.RFC3339))
		default:
			r.add("valid-until", true, "valid until "+t.UTC().Format(time.RFC3339))
		}
	}
}

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// checkStatus reads every status entry: Bitstring Status List and the
// 1EdTech revocation list.
func (v *Verifier) checkStatus(ctx context.Context, r *Report, doc map[string]any, opts Options, depth int) {
	var entries []map[string]any
	switch s := doc["credentialStatus"].(type) {
	case nil:
		return
	case map[string]any:
		entries = []map[string]any{s}
	case []any:
		for _, e := range s {
			if m, ok := e.(map[string]any); ok {
				entries = append(entries, m)
			}
		}
	}
	for _, e := range entries {
		switch e["type"] {
		case "BitstringStatusListEntry":
			v.checkBitstring(ctx, r, doc, e, opts, depth)
		case "1EdTechRevocationList":
			v.checkRevocationList(ctx, r, doc, e)
		default:
			r.warn("status", fmt.Sprintf("status of type %v is not supported: not checked", e["type"]))
		}
	}
}

func (v *Verifier) checkBitstring(ctx context.Context, r *Report, doc, e map[string]any, opts Options, depth int) {
	entry, index, err := statuslist.ParseEntry(e)
	if err != nil {
		r.add("status", false, "the status entry is malformed: "+plain(err))
		return
	}
	if v.docs == nil {
		r.warn("status", "the status list "+entry.StatusListCredential+" needs the network: revocation not checked")
		return
	}
	body, err := v.docs.FetchDocument(ctx, entry.StatusListCredential, "application/vc+ld+json, application/json")
	if err != nil {
		r.warn("status", "the status list could not be fetched: "+plain(err))
		return
	}
	var list map[string]any
	if err := json.Unmarshal(body, &list); err != nil {
		r.warn("status", "the status list is not JSON")
		return
	}
	// The list is a credential of its issuer: its proof must hold and its
	// issuer must be the credential's, or anyone could "unrevoke".
	if depth < maxNesting {
		if msg := v.listFailure(ctx, body, list); msg != "" {
			r.warn("status", "the status list could not be trusted ("+msg+"): status not checked")
			return
		}
	}
	if li, ci := issuerOf(list), issuerOf(doc); li != ci {
		r.warn("status", fmt.Sprintf("the status list is issued by %s, not by the credential's issuer %s: status not checked", li, ci))
		return
	}
	set, err := statuslist.StatusFromListCredential(list, entry.StatusPurpose, index)
	if err != nil {
		r.warn("status", "the status list could not be read: "+plain(err))
		return
	}
	if set {
		switch entry.StatusPurpose {
		case "suspension":
			r.Status = "suspended"
			r.add("status", false, "suspended by its issuer")
		default:
			r.Status = "revoked"
			r.add("status", false, "revoked by its issuer")
		}
		return
	}
	r.add("status", true, fmt.Sprintf("not marked for %s in the issuer's status list", entry.StatusPurpose))
}

// checkRevocationList reads a 1EdTech revocation list: {revokedCredential:
// [{id, revoked?, revocationReason?}]} (the validator's RevocationListProbe).
func (v *Verifier) checkRevocationList(ctx context.Context, r *Report, doc, e map[string]any) {
	u, _ := e["id"].(string)
	if v.docs == nil {
		r.warn("status", "the revocation list "+u+" needs the network: revocation not checked")
		return
	}
	body, err := v.docs.FetchDocument(ctx, u, "application/json")
	if err != nil {
		r.warn("status", "the revocation list could not be fetched: "+plain(err))
		return
	}
	var list struct {
		RevokedCredential []struct {
			ID               string `json:"id"`
			Revoked          *bool  `json:"revoked"`
			RevocationReason string `json:"revocationReason"`
		} `json:"revokedCredential"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		r.warn("status", "the revocation list is not in the expected form")
		return
	}
	id, _ := doc["id"].(string)
	for _, c := range list.RevokedCredential {
		if c.ID == id && (c.Revoked == nil || *c.Revoked) {
			r.Status = "revoked"
			msg := "revoked by its issuer"
			if c.RevocationReason != "" {
				msg += ": " + c.RevocationReason
			}
			r.add("status", false, msg)
			return
		}
	}
	r.add("status", true, "not in the issuer's revocation list")
}

// checkEndorsements verifies embedded endorsements of the credential, its
// achievement and its issuer.
func (v *Verifier) checkEndorsements(ctx context.Context, r *Report, doc map[string]any, opts Options, depth int) {
	var found []any
	collect := func(m map[string]any) {
		if m == nil {
			return
		}
		if l, ok := m["endorsement"].([]any); ok {
			found = append(found, l...)
		}
		if l, ok := m["endorsementJwt"].([]any); ok {
			found = append(found, l...)
		}
	}
	collect(doc)
	if iss, ok := doc["issuer"].(map[string]any); ok {
		collect(iss)
	}
	if subj, ok := doc["credentialSubject"].(map[string]any); ok {
		if a, ok := subj["achievement"].(map[string]any); ok {
			collect(a)
		}
	}
	if len(found) == 0 {
		return
	}
	if bad := v.verifyAll(ctx, r, found, opts, depth); bad > 0 {
		r.add("endorsements", false, fmt.Sprintf("%d of %d endorsements do not verify", bad, len(found)))
	} else {
		r.add("endorsements", true, fmt.Sprintf("%d endorsements verify", len(found)))
	}
}

// checkClrNested verifies every credential inside a CLR.
func (v *Verifier) checkClrNested(ctx context.Context, r *Report, doc map[string]any, opts Options, depth int) {
	subj, _ := doc["credentialSubject"].(map[string]any)
	list, _ := subj["verifiableCredential"].([]any)
	if bad := v.verifyAll(ctx, r, list, opts, depth); bad > 0 {
		r.add("nested", false, fmt.Sprintf("%d of %d credentials in the record do not verify", bad, len(list)))
	} else {
		r.add("nested", true, fmt.Sprintf("all %d credentials in the record verify", len(list)))
	}
}

// verifyAll verifies nested credentials, adds their reports to r and
// returns how many are invalid.
func (v *Verifier) verifyAll(ctx context.Context, r *Report, list []any, opts Options, depth int) (bad int) {
	for _, e := range list {
		nr := v.nested(ctx, e, opts, depth)
		if nr.Verdict == Invalid {
			bad++
		}
		r.Nested = append(r.Nested, nr)
	}
	return bad
}

func (v *Verifier) nested(ctx context.Context, e any, opts Options, depth int) *Report {
	nr := &Report{}
	switch t := e.(type) {
	case map[string]any:
		raw, _ := json.Marshal(t)
		nr.Format = "json"
		v.verifyJSON(ctx, nr, raw, t, nil, opts, depth+1)
	case string:
		nr.Format = "jws"
		v.verifyJWT(ctx, nr, t, opts, depth+1)
	default:
		nr.add("parse", false, "not a credential")
	}
	return nr.finish()
}

func issuerOf(doc map[string]any) string {
	switch t := doc["issuer"].(type) {
	case string:
		return t
	case map[string]any:
		id, _ := t["id"].(string)
		return id
	}
	return ""
}

func summarize(doc map[string]any, legacy bool) *Summary {
	s := &Summary{Types: stringList(doc["type"]), IssuerID: issuerOf(doc), Legacy: legacy}
	s.ID, _ = doc["id"].(string)
	s.Name, _ = doc["name"].(string)
	if iss, ok := doc["issuer"].(map[string]any); ok {
		s.IssuerName, _ = iss["name"].(string)
	}
	if subj, ok := doc["credentialSubject"].(map[string]any); ok {
		if a, ok := subj["achievement"].(map[string]any); ok {
			s.Achievement, _ = a["name"].(string)
		}
	}
	from, until := "validFrom", "validUntil"
	if legacy {
		from, until = "issuanceDate", "expirationDate"
	}
	s.ValidFrom, _ = doc[from].(string)
	s.ValidUntil, _ = doc[until].(string)
	return s
}

func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// plain strips package prefixes from an error for a person to read.
func plain(err error) string {
	s := err.Error()
	for _, p := range []string{"dataintegrity: ", "vcjwt: ", "keys: ", "jsonld: ", "statuslist: ", "bake: ", "badges: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}
