package backpack

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/fetch"
)

// Open Badges 2.0 (https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/):
// an Assertion names a BadgeClass, which names an Issuer, each usually by
// URL. A hosted assertion is verified by fetching it from its id; a signed
// one is a JWS verified with the issuer's public key (a CryptographicKey
// document named by verification.creator). Revocation is HTTP 410 or
// revoked: true for hosted assertions, the issuer's revocationList for
// signed ones.

// ob2Assertion is the part of an Assertion the checks read.
type ob2Assertion struct {
	ID           string          `json:"id"`
	Type         json.RawMessage `json:"type"`
	Badge        json.RawMessage `json:"badge"`
	Recipient    json.RawMessage `json:"recipient"`
	IssuedOn     string          `json:"issuedOn"`
	Expires      string          `json:"expires"`
	Revoked      bool            `json:"revoked"`
	Reason       string          `json:"revocationReason"`
	Verification struct {
		Type           string          `json:"type"`
		Creator        string          `json:"creator"`
		AllowedOrigins json.RawMessage `json:"allowedOrigins"`
	} `json:"verification"`
}

type ob2BadgeClass struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Issuer json.RawMessage `json:"issuer"`
}

type ob2Issuer struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	PublicKey      json.RawMessage `json:"publicKey"`
	RevocationList string          `json:"revocationList"`
}

// ob2Report builds a report the way badges does.
type ob2Report struct{ r badges.Report }

func (o *ob2Report) add(name string, ok bool, format string, args ...any) {
	o.r.Checks = append(o.r.Checks, badges.Check{Name: name, OK: ok, Message: fmt.Sprintf(format, args...)})
}

func (o *ob2Report) warn(name, format string, args ...any) {
	o.r.Checks = append(o.r.Checks, badges.Check{Name: name, Warning: true, Message: fmt.Sprintf(format, args...)})
}

func (o *ob2Report) finish() *badges.Report {
	o.r.Verdict = badges.Valid
	for _, c := range o.r.Checks {
		switch {
		case !c.OK && !c.Warning:
			o.r.Verdict = badges.Invalid
			return &o.r
		case !c.OK:
			o.r.Verdict = badges.Warnings
		}
	}
	return &o.r
}

const ob2Accept = "application/ld+json, application/json"

// getJSON fetches a linked OB 2.0 document.
func (s *Service) getJSON(ctx context.Context, u string, v any) (int, error) {
	if s.fetcher == nil {
		return 0, errors.New("fetching is not enabled on this service")
	}
	resp, err := s.fetcher.Get(ctx, u, ob2Accept)
	if err != nil {
		if resp != nil {
			return resp.Status, err
		}
		return 0, err
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return resp.Status, fmt.Errorf("%s is not JSON: %v", u, err)
	}
	return resp.Status, nil
}

// linked reads a property that is a URL or an embedded object: the URL is
// fetched into v.
func (s *Service) linked(ctx context.Context, raw json.RawMessage, v any) (string, error) {
	var ref string
	if json.Unmarshal(raw, &ref) == nil {
		if !isHTTPURL(ref) {
			return ref, fmt.Errorf("%q is not an HTTP(S) URL", ref)
		}
		_, err := s.getJSON(ctx, ref, v)
		return ref, err
	}
	if len(raw) == 0 || raw[0] != '{' {
		return "", errors.New("missing")
	}
	return "", json.Unmarshal(raw, v)
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// verifyOB2 checks an OB 2.0 assertion given as JSON, as a signed JWS, or
// as the URL of a hosted one.
func (s *Service) verifyOB2(ctx context.Context, payload []byte, sourceURL string) (*verified, error) {
	o := &ob2Report{r: badges.Report{Format: "ob2"}}
	t := bytes.TrimSpace(payload)
	var a ob2Assertion
	var signedBy string // the verification.creator key of a signed assertion
	doc := t            // the assertion as verified: its recipient is the one checked
	switch {
	case isHTTPURL(string(t)):
		status, err := s.getJSON(ctx, string(t), &a)
		if status == 410 {
			o.add("parse", true, "Open Badges 2.0 hosted assertion %s", t)
			o.add("status", false, "the issuer revoked this assertion (HTTP 410 Gone)")
			o.r.Status = "revoked"
			return &verified{report: o.finish(), credentialID: string(t), payload: t}, nil
		}
		if err != nil {
			return nil, inputErr("url", "could not fetch the assertion: %v", err)
		}
	case len(t) > 0 && t[0] == '{':
		if err := json.Unmarshal(t, &a); err != nil {
			return nil, inputErr("", "the Open Badges 2.0 assertion is not valid JSON: %v", err)
		}
	default:
		p, creator, err := s.verifyOB2JWS(ctx, string(t))
		if err != nil {
			return nil, inputErr("", "this signed Open Badges 2.0 assertion cannot be read: %v", err)
		}
		if err := json.Unmarshal(p, &a); err != nil {
			return nil, inputErr("", "the signed assertion's payload is not JSON: %v", err)
		}
		signedBy, doc = creator, p
	}
	if a.ID == "" || len(a.Badge) == 0 || len(a.Recipient) == 0 {
		return nil, inputErr("", "an Open Badges 2.0 assertion needs id, badge and recipient")
	}
	o.add("parse", true, "read an Open Badges 2.0 assertion")
	vtype := strings.ToLower(a.Verification.Type)
	hosted := vtype == "hosted" || vtype == "hostedbadge"
	signed := vtype == "signed" || vtype == "signedbadge"
	switch {
	case hosted:
		if !isHTTPURL(a.ID) {
			o.add("hosted", false, "a hosted assertion's id must be its HTTP(S) URL, not %q", a.ID)
			break
		}
		var fresh ob2Assertion
		var freshRaw json.RawMessage
		status, err := s.getJSON(ctx, a.ID, &freshRaw)
		if err == nil {
			err = json.Unmarshal(freshRaw, &fresh)
		}
		switch {
		case status == 410:
			o.add("hosted", true, "fetched %s", a.ID)
			o.add("status", false, "the issuer revoked this assertion (HTTP 410 Gone)")
			o.r.Status = "revoked"
			o.r.Summary = &badges.Summary{ID: a.ID}
			return &verified{report: o.finish(), credentialID: a.ID, payload: payload}, nil
		case err != nil:
			o.add("hosted", false, "the hosted assertion could not be fetched: %v", err)
		case fresh.ID != a.ID:
			o.add("hosted", false, "the document at %s has id %q", a.ID, fresh.ID)
		default:
			o.add("hosted", true, "the assertion is hosted at its id %s", a.ID)
			a, doc = fresh, freshRaw
		}
	case signed:
		if signedBy == "" {
			o.add("signature", false, "the assertion says it is signed but came without its signature (a JWS)")
		} else {
			o.add("signature", true, "signature verified with key %s", signedBy)
		}
	default:
		o.add("verification", false, "unknown verification type %q (want hosted or signed)", a.Verification.Type)
	}

	var bc ob2BadgeClass
	if _, err := s.linked(ctx, a.Badge, &bc); err != nil {
		o.add("badge", false, "the BadgeClass could not be read: %v", err)
	} else if bc.Name == "" {
		o.add("badge", false, "the BadgeClass has no name")
	} else {
		o.add("badge", true, "BadgeClass %q", bc.Name)
	}
	var iss ob2Issuer
	if len(bc.Issuer) > 0 {
		if _, err := s.linked(ctx, bc.Issuer, &iss); err != nil {
			o.add("issuer", false, "the issuer profile could not be read: %v", err)
		} else if iss.ID == "" {
			o.add("issuer", false, "the issuer profile has no id")
		} else {
			o.add("issuer", true, "issuer %q (%s)", iss.Name, iss.ID)
		}
	}
	if hosted && iss.ID != "" && isHTTPURL(a.ID) {
		if !sameOrigin(a.ID, iss.ID, a.Verification.AllowedOrigins) {
			o.add("issuer binding", false, "the assertion %s is not hosted on the issuer's origin (%s)", a.ID, iss.ID)
		} else {
			o.add("issuer binding", true, "hosted on the issuer's origin")
		}
	}
	if signed && signedBy != "" && iss.ID != "" {
		if !keyListed(iss.PublicKey, signedBy) {
			o.add("issuer binding", false, "the issuer profile does not list the signing key %s", signedBy)
		} else {
			o.add("issuer binding", true, "the issuer lists the signing key")
		}
	}
	now := s.now()
	issued, err := parseOB2Date(a.IssuedOn)
	switch {
	case err != nil:
		o.add("dates", false, "issuedOn %q is not a date: %v", a.IssuedOn, err)
	case issued.After(now.Add(5 * time.Minute)):
		o.add("dates", false, "issued in the future (%s)", a.IssuedOn)
	default:
		if a.Expires != "" {
			if exp, err := parseOB2Date(a.Expires); err != nil {
				o.add("dates", false, "expires %q is not a date", a.Expires)
			} else if !exp.After(now) {
				o.add("dates", false, "expired on %s", a.Expires)
				o.r.Status = "expired"
			} else {
				o.add("dates", true, "issued %s, expires %s", a.IssuedOn, a.Expires)
			}
		} else {
			o.add("dates", true, "issued %s", a.IssuedOn)
		}
	}
	switch {
	case a.Revoked:
		msg := "the issuer revoked this assertion"
		if a.Reason != "" {
			msg += ": " + a.Reason
		}
		o.add("status", false, "%s", msg)
		o.r.Status = "revoked"
	case signed && iss.RevocationList != "":
		var rl struct {
			Revoked []json.RawMessage `json:"revokedAssertions"`
		}
		if _, err := s.getJSON(ctx, iss.RevocationList, &rl); err != nil {
			o.warn("status", "the revocation list could not be read: %v", err)
		} else if listed(rl.Revoked, a.ID) {
			o.add("status", false, "the assertion is on the issuer's revocation list")
			o.r.Status = "revoked"
		} else {
			o.add("status", true, "not revoked")
		}
	default:
		o.add("status", true, "not revoked")
	}
	o.r.Summary = &badges.Summary{ID: a.ID, Name: bc.Name, Achievement: bc.Name, IssuerID: iss.ID, IssuerName: iss.Name, ValidFrom: a.IssuedOn, ValidUntil: a.Expires}
	return &verified{report: o.finish(), credentialID: a.ID, issuerID: iss.ID, issuerName: iss.Name, name: bc.Name, payload: payload, assertion: doc}, nil
}

func parseOB2Date(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

func sameOrigin(a, b string, allowed json.RawMessage) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if ua.Host == ub.Host {
		return true
	}
	var list []string
	var one string
	if json.Unmarshal(allowed, &list) != nil && json.Unmarshal(allowed, &one) == nil {
		list = []string{one}
	}
	for _, o := range list {
		if strings.EqualFold(o, ua.Host) {
			return true
		}
	}
	return false
}

func keyListed(raw json.RawMessage, id string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == id
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		return listed(list, id)
	}
	var obj struct {
		ID string `json:"id"`
	}
	return json.Unmarshal(raw, &obj) == nil && obj.ID == id
}

// listed tells whether a list of ids or {id} objects holds id.
func listed(list []json.RawMessage, id string) bool {
	for _, e := range list {
		var s string
		if json.Unmarshal(e, &s) == nil && s == id {
			return true
		}
		var o struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(e, &o) == nil && o.ID == id {
			return true
		}
	}
	return false
}

// verifyOB2JWS verifies a signed assertion against the key its payload
// names (verification.creator, a CryptographicKey with a PEM public key)
// and returns the payload and the key's id.
func (s *Service) verifyOB2JWS(ctx context.Context, token string) ([]byte, string, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.PS256})
	if err != nil {
		return nil, "", err
	}
	var a ob2Assertion
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &a); err != nil {
		return nil, "", fmt.Errorf("the payload is not JSON: %v", err)
	}
	creator := a.Verification.Creator
	if !isHTTPURL(creator) {
		return nil, "", fmt.Errorf("verification.creator %q is not the URL of a key", creator)
	}
	var key struct {
		ID           string `json:"id"`
		PublicKeyPem string `json:"publicKeyPem"`
	}
	if _, err := s.getJSON(ctx, creator, &key); err != nil {
		return nil, "", fmt.Errorf("the signing key could not be fetched: %v", err)
	}
	block, _ := pem.Decode([]byte(key.PublicKeyPem))
	if block == nil {
		return nil, "", errors.New("the signing key has no PEM public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		if rsaPub, err2 := x509.ParsePKCS1PublicKey(block.Bytes); err2 == nil {
			pub = rsaPub
		} else {
			return nil, "", fmt.Errorf("the signing key cannot be read: %v", err)
		}
	}
	p, err := jws.Verify(pub)
	if err != nil {
		return nil, "", fmt.Errorf("the signature does not verify with %s", creator)
	}
	return p, creator, nil
}

// unbakeOB2PNG reads an OB 2.0 baked PNG: an iTXt (or tEXt) chunk with the
// keyword "openbadges" holding the assertion JSON, its JWS or its URL.
func unbakeOB2PNG(img []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(img, []byte(sig)) {
		return nil, errNoOB2
	}
	rest := img[len(sig):]
	var found []byte
	for len(rest) >= 12 {
		n := binary.BigEndian.Uint32(rest[:4])
		if uint64(n)+12 > uint64(len(rest)) {
			return nil, errors.New("truncated PNG chunk")
		}
		typ, data := string(rest[4:8]), rest[8:8+n]
		rest = rest[12+n:]
		if typ != "iTXt" && typ != "tEXt" {
			if typ == "IEND" {
				break
			}
			continue
		}
		kw, after, ok := bytes.Cut(data, []byte{0})
		if !ok || string(kw) != "openbadges" {
			continue
		}
		if found != nil {
			return nil, errors.New("two openbadges chunks")
		}
		if typ == "tEXt" {
			found = bytes.Clone(after)
			continue
		}
		// iTXt: compression flag, method, language tag\0, translated keyword\0, text.
		if len(after) < 2 {
			return nil, errors.New("short iTXt chunk")
		}
		compressed := after[0] == 1
		fields := after[2:]
		for range 2 {
			_, next, ok := bytes.Cut(fields, []byte{0})
			if !ok {
				return nil, errors.New("malformed iTXt chunk")
			}
			fields = next
		}
		if compressed {
			r, err := zlib.NewReader(bytes.NewReader(fields))
			if err != nil {
				return nil, err
			}
			text, err := io.ReadAll(io.LimitReader(r, MaxImport+1))
			if err != nil || len(text) > MaxImport {
				return nil, errors.New("bad compressed iTXt chunk")
			}
			found = text
		} else {
			found = bytes.Clone(fields)
		}
	}
	if found == nil {
		return nil, errNoOB2
	}
	return bytes.TrimSpace(found), nil
}

// unbakeOB2SVG reads an OB 2.0 baked SVG: <openbadges:assertion
// verify="URL"> with the assertion JSON as content (or just the URL).
func unbakeOB2SVG(img []byte) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(img))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, errNoOB2
		}
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "assertion" || !strings.Contains(se.Name.Space, "openbadges") {
			continue
		}
		var content struct {
			Text string `xml:",chardata"`
		}
		if err := dec.DecodeElement(&content, &se); err != nil {
			return nil, err
		}
		if t := strings.TrimSpace(content.Text); t != "" {
			return []byte(t), nil
		}
		for _, a := range se.Attr {
			if a.Name.Local == "verify" && isHTTPURL(a.Value) {
				return []byte(a.Value), nil
			}
		}
		return nil, errNoOB2
	}
}

var _ Fetcher = (*fetch.Client)(nil)
