package backpack

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/bake"
	"github.com/insigne/insigne/badges/vcjwt"
)

// MaxImport caps what a learner may import (an image with a credential).
const MaxImport = bake.MaxImageSize

// Sniffed is what an import holds, before verification.
type Sniffed struct {
	Format  string // FormatJSON, FormatJWS, FormatPNG, FormatSVG, FormatOB2
	Payload []byte // the OB 3.0 credential (JSON or compact JWS), or the OB 2.0 assertion (JSON, compact JWS, or its URL)
	// Container is png or svg when the credential came baked.
	Container string
	// URL is set when the input was a URL.
	URL string
}

// Sniff tells what input holds: an OB 3.0 credential as JSON or compact
// JWS, baked in a PNG or SVG, an OB 2.0 assertion (JSON, signed JWS,
// baked, or a hosted assertion's URL), or a URL to fetch. It never
// fetches; a URL comes back as Sniffed{URL: …}.
func Sniff(input []byte) (*Sniffed, error) {
	if len(input) == 0 {
		return nil, inputErr("", "the input is empty")
	}
	if len(input) > MaxImport {
		return nil, inputErr("", "the input is larger than %d MiB", MaxImport>>20)
	}
	t := bytes.TrimSpace(bytes.TrimPrefix(input, []byte("\xef\xbb\xbf")))
	switch {
	case bytes.HasPrefix(input, []byte("\x89PNG")):
		p, err := bake.UnbakePNG(input)
		if errors.Is(err, bake.ErrNotBaked) {
			if ob2, err2 := unbakeOB2PNG(input); err2 == nil {
				return &Sniffed{Format: FormatOB2, Payload: ob2, Container: "png"}, nil
			}
		}
		if err != nil {
			return nil, inputErr("", "this PNG image carries no usable badge: %v", err)
		}
		return &Sniffed{Format: FormatPNG, Payload: p, Container: "png"}, classify(p)
	case len(t) > 0 && t[0] == '<':
		p, err := bake.UnbakeSVG(input)
		if errors.Is(err, bake.ErrNotBaked) {
			if ob2, err2 := unbakeOB2SVG(input); err2 == nil {
				return &Sniffed{Format: FormatOB2, Payload: ob2, Container: "svg"}, nil
			}
		}
		if err != nil {
			return nil, inputErr("", "this SVG image carries no usable badge: %v", err)
		}
		return &Sniffed{Format: FormatSVG, Payload: p, Container: "svg"}, classify(p)
	case len(t) > 0 && t[0] == '{':
		if !json.Valid(t) {
			return nil, inputErr("", "the input starts like JSON but is not valid JSON")
		}
		if isOB2JSON(t) {
			return &Sniffed{Format: FormatOB2, Payload: t}, nil
		}
		if !looksLikeCredential(t) {
			return nil, errNotCredential()
		}
		return &Sniffed{Format: FormatJSON, Payload: t}, nil
	case bytes.HasPrefix(t, []byte("http://")) || bytes.HasPrefix(t, []byte("https://")):
		u, err := url.Parse(string(t))
		if err != nil || u.Host == "" || bytes.ContainsAny(t, " \n\t") {
			return nil, inputErr("url", "%q is not a URL", truncate(string(t), 80))
		}
		return &Sniffed{URL: u.String()}, nil
	case vcjwt.LooksLikeJWS(t):
		if isOB2JWS(t) {
			return &Sniffed{Format: FormatOB2, Payload: t}, nil
		}
		if !jwsLooksLikeCredential(t) {
			return nil, errNotCredential()
		}
		return &Sniffed{Format: FormatJWS, Payload: t}, nil
	}
	return nil, inputErr("", "no badge found: expected Open Badges JSON, a compact JWS, a baked PNG or SVG image, or a URL")
}

// classify refuses a baked payload that is an OB 2.0 assertion or neither
// JSON nor JWS; bake already refused most.
func classify(p []byte) error {
	t := bytes.TrimSpace(p)
	if len(t) > 0 && t[0] == '{' {
		if !json.Valid(t) {
			return inputErr("", "the baked credential is not valid JSON")
		}
		if !looksLikeCredential(t) {
			return errNotCredential()
		}
		return nil
	}
	if vcjwt.LooksLikeJWS(t) {
		if !jwsLooksLikeCredential(t) {
			return errNotCredential()
		}
		return nil
	}
	return inputErr("", "the baked payload is neither JSON nor a compact JWS")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// isOB2JSON tells an OB 2.0 assertion from an OB 3.0 credential: the 2.0
// context, or an Assertion's badge and recipient without the VC context.
func isOB2JSON(b []byte) bool {
	var d struct {
		Context   json.RawMessage `json:"@context"`
		Type      json.RawMessage `json:"type"`
		Badge     json.RawMessage `json:"badge"`
		Recipient json.RawMessage `json:"recipient"`
	}
	if json.Unmarshal(b, &d) != nil {
		return false
	}
	ctx := string(d.Context)
	if strings.Contains(ctx, "w3id.org/openbadges/v2") {
		return true
	}
	if strings.Contains(ctx, "credentials") {
		return false
	}
	return len(d.Badge) > 0 && len(d.Recipient) > 0
}

// ErrNotCredential is wrapped by the InputError refusing an input that is
// well-formed JSON (or a JWS of it) but no credential at all, so that
// nothing arbitrary is kept as an "invalid" holding.
var ErrNotCredential = errors.New("not a credential")

func errNotCredential() error {
	return &InputError{Reason: "this is not a credential: it has no @context or type of a W3C Verifiable Credential, " +
		"an Open Badges 3.0 credential or an Open Badges 2.0 assertion", Err: ErrNotCredential}
}

// credentialContexts and credentialTypes are what marks a document as a
// credential: a VC 1.1/2.0 or Open Badges context, or a credential type.
// A credential that names them but is otherwise wrong is still kept, with
// its report, as invalid.
var (
	credentialContexts = []string{"www.w3.org/2018/credentials", "www.w3.org/ns/credentials", "purl.imsglobal.org/spec/ob/",
		"purl.imsglobal.org/spec/clr/", "w3id.org/openbadges"}
	credentialTypes = []string{"VerifiableCredential", "OpenBadgeCredential", "AchievementCredential",
		"EndorsementCredential", "ClrCredential", "Assertion"}
)

// looksLikeCredential tells whether a JSON object carries a credential's
// @context or type, itself or under "vc" (a VC 1.1 JWT's claims).
func looksLikeCredential(b []byte) bool {
	var d struct {
		Context any             `json:"@context"`
		Type    any             `json:"type"`
		VC      json.RawMessage `json:"vc"`
	}
	if json.Unmarshal(b, &d) != nil {
		return false
	}
	for _, c := range strs(d.Context) {
		for _, want := range credentialContexts {
			if strings.Contains(c, want) {
				return true
			}
		}
	}
	for _, t := range strs(d.Type) {
		if slices.Contains(credentialTypes, t) {
			return true
		}
	}
	return len(d.VC) > 0 && d.VC[0] == '{' && looksLikeCredential(d.VC)
}

// strs is a JSON string, or the strings of a JSON array.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// jwsLooksLikeCredential is looksLikeCredential for a compact JWS's
// payload.
func jwsLooksLikeCredential(t []byte) bool {
	parts := bytes.Split(t, []byte("."))
	if len(parts) != 3 {
		return false
	}
	p, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	return err == nil && looksLikeCredential(p)
}

// isOB2JWS tells a signed OB 2.0 assertion (a JWS whose payload is an
// Assertion) from a VC-JWT.
func isOB2JWS(t []byte) bool {
	parts := bytes.Split(t, []byte("."))
	if len(parts) != 3 {
		return false
	}
	p, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		return false
	}
	return isOB2JSON(p)
}

// verified is the outcome of verifying an import.
type verified struct {
	report       *badges.Report
	credentialID string
	issuerID     string
	issuerName   string
	name         string
	payload      []byte // the credential as given
	assertion    []byte // for OB 2.0: the assertion as verified (a hosted one as fetched)
}

// recipientDoc is the document whose recipient is checked.
func (v *verified) recipientDoc() []byte {
	if v.assertion != nil {
		return v.assertion
	}
	return v.payload
}

// verify checks a sniffed credential: OB 3.0 with the badges verifier,
// OB 2.0 with this package's checks.
func (s *Service) verify(ctx context.Context, format string, original, payload []byte, sourceURL string) (*verified, error) {
	if format == FormatOB2 {
		return s.verifyOB2(ctx, payload, sourceURL)
	}
	if s.verifier == nil {
		return nil, errors.New("backpack: no verifier configured")
	}
	r, err := s.verifier.Verify(ctx, original, badges.Options{At: s.now()})
	if err != nil {
		reason := err.Error()
		if c, ok := r.Failed(); ok && c.Message != "" {
			reason = c.Message
		}
		return nil, inputErr("", "this is not a credential that can be verified: %s", reason)
	}
	v := &verified{report: r, payload: payload}
	if r.Summary != nil {
		v.credentialID, v.issuerID, v.issuerName = r.Summary.ID, r.Summary.IssuerID, r.Summary.IssuerName
		v.name = r.Summary.Name
		if v.name == "" {
			v.name = r.Summary.Achievement
		}
	}
	return v, nil
}

// Import verifies a credential and adds it to the learner's backpack with
// its report. An input that holds no credential at all is refused with an
// InputError; a credential that fails verification is kept, marked
// invalid, so that the learner sees why.
func (s *Service) Import(ctx context.Context, userID string, input []byte) (*Item, error) {
	sn, err := Sniff(input)
	if err != nil {
		return nil, err
	}
	original := input
	if sn.URL != "" {
		sn, original, err = s.fetchImport(ctx, sn.URL)
		if err != nil {
			return nil, err
		}
	}
	v, err := s.verify(ctx, sn.Format, original, sn.Payload, sn.URL)
	if err != nil {
		return nil, err
	}
	if err := s.checkQuota(ctx, userID); err != nil {
		return nil, err
	}
	s.checkRecipient(ctx, userID, v.recipientDoc(), v.report)
	now := s.now()
	it := Imported{ID: newUUID(), UserID: userID, CredentialID: v.credentialID, IssuerID: v.issuerID, IssuerName: v.issuerName,
		Name: v.name, Format: sn.Format, SourceURL: sn.URL, Original: original, Payload: sn.Payload,
		Verdict: string(v.report.Verdict), Status: statusOf(v.report), Report: reportJSON(v.report),
		CreatedAt: now, UpdatedAt: now, VerifiedAt: now}
	if err := s.store.PutImported(ctx, it); err != nil {
		return nil, err
	}
	return s.Get(ctx, userID, it.ID)
}

// ErrTooMany is wrapped by the InputError refusing an import beyond the
// learner's quota (Config.MaxImported).
var ErrTooMany = errors.New("too many imported credentials")

// checkQuota refuses a new imported item once the learner holds the most
// allowed. Concurrent imports may each pass the count and overshoot by a
// few: the quota bounds storage, it is not an exact ledger.
func (s *Service) checkQuota(ctx context.Context, userID string) error {
	n, err := s.store.ImportedCount(ctx, userID)
	if err != nil {
		return err
	}
	if n >= s.maxItems {
		return &InputError{Reason: fmt.Sprintf("your backpack already holds %d imported credentials, the most allowed: delete some before importing more", n), Err: ErrTooMany}
	}
	return nil
}

// fetchImport fetches a URL import through the guarded fetcher and sniffs
// what came back. An OB 2.0 hosted assertion is kept by its URL.
func (s *Service) fetchImport(ctx context.Context, u string) (*Sniffed, []byte, error) {
	if s.fetcher == nil {
		return nil, nil, inputErr("url", "importing from a URL is not enabled on this service")
	}
	resp, err := s.fetcher.Get(ctx, u, "application/vc+ld+json, application/ld+json, application/json, image/png, image/svg+xml, */*;q=0.1")
	if err != nil {
		if resp != nil && resp.Status == 410 {
			// A hosted OB 2.0 assertion that its issuer revoked.
			return &Sniffed{Format: FormatOB2, Payload: []byte(u), URL: u}, []byte(u), nil
		}
		return nil, nil, inputErr("url", "could not fetch %s: %v", u, err)
	}
	sn, err := Sniff(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if sn.URL != "" {
		return nil, nil, inputErr("url", "%s answered with another URL, not a badge", u)
	}
	sn.URL = u
	return sn, resp.Body, nil
}

// Upsert stores a credential sent through the OB 3.0 API: a credential
// with the same issuer and id replaces the one held (created false);
// otherwise it is added (created true). A credential issued here is never
// replaced: it is answered as held.
func (s *Service) Upsert(ctx context.Context, userID string, input []byte) (*Item, bool, error) {
	sn, err := Sniff(input)
	if err != nil {
		return nil, false, err
	}
	if sn.URL != "" || sn.Format == FormatOB2 || sn.Container != "" {
		return nil, false, inputErr("", "send an Open Badges 3.0 credential as JSON or as a compact JWS")
	}
	v, err := s.verify(ctx, sn.Format, input, sn.Payload, "")
	if err != nil {
		return nil, false, err
	}
	if v.credentialID == "" {
		return nil, false, inputErr("id", "the credential has no id")
	}
	s.checkRecipient(ctx, userID, v.recipientDoc(), v.report)
	now := s.now()
	it := Imported{UserID: userID, CredentialID: v.credentialID, IssuerID: v.issuerID, IssuerName: v.issuerName, Name: v.name,
		Format: sn.Format, Original: input, Payload: sn.Payload, Verdict: string(v.report.Verdict), Status: statusOf(v.report),
		Report: reportJSON(v.report), CreatedAt: now, UpdatedAt: now, VerifiedAt: now}
	// Issued here to this learner: nothing to store.
	if id, ok := strings.CutPrefix(v.credentialID, "urn:uuid:"); ok {
		if held, err := s.Get(ctx, userID, id); err == nil && held.Kind == KindIssued {
			return held, false, nil
		}
	}
	old, err := s.store.ImportedByCredentialID(ctx, userID, v.credentialID)
	switch {
	case err == nil && old.IssuerID == v.issuerID:
		it.ID, it.CreatedAt = old.ID, old.CreatedAt
		if err := s.store.ReplaceImported(ctx, it); err != nil {
			return nil, false, err
		}
		got, err := s.Get(ctx, userID, it.ID)
		return got, false, err
	case err != nil && !isNotFound(err):
		return nil, false, err
	}
	if err := s.checkQuota(ctx, userID); err != nil {
		return nil, false, err
	}
	it.ID = newUUID()
	if err := s.store.PutImported(ctx, it); err != nil {
		return nil, false, err
	}
	got, err := s.Get(ctx, userID, it.ID)
	return got, true, err
}

// Verify verifies an imported item again now.
func (s *Service) Verify(ctx context.Context, userID, id string) (*Item, error) {
	it, err := s.Get(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if it.Kind != KindImported {
		return it, nil
	}
	v, err := s.verify(ctx, it.Format, it.Original, it.Payload, it.SourceURL)
	if err != nil {
		return nil, err
	}
	s.checkRecipient(ctx, userID, v.recipientDoc(), v.report)
	if err := s.store.SetVerification(ctx, id, string(v.report.Verdict), statusOf(v.report), reportJSON(v.report), s.now()); err != nil {
		return nil, err
	}
	return s.Get(ctx, userID, id)
}

var errNoOB2 = fmt.Errorf("no Open Badges 2.0 assertion")
