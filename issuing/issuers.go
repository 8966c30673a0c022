package issuing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"

	"github.com/insigne/insigne/keys"
)

// IssuerInput is what an administrator gives to create an issuer.
type IssuerInput struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	URL         string `json:"url"`
	Email       string `json:"email"`
	Description string `json:"description"`
	ImageURL    string `json:"image"`
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ValidSlug tells whether s can name an issuer.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

func checkHTTPURL(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return inputErr(field, "must be an absolute http(s) URL")
	}
	return nil
}

func (in IssuerInput) check() error {
	if !ValidSlug(in.Slug) {
		return inputErr("slug", "must be 2 to 63 lower-case letters, digits or hyphens, starting with a letter or digit")
	}
	if strings.TrimSpace(in.Name) == "" {
		return inputErr("name", "is required")
	}
	if len(in.Name) > 200 {
		return inputErr("name", "is longer than 200 characters")
	}
	if err := checkHTTPURL("url", in.URL); err != nil {
		return err
	}
	if err := checkHTTPURL("image", in.ImageURL); err != nil {
		return err
	}
	if in.Email != "" {
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
			return inputErr("email", "is not an e-mail address")
		}
	}
	return nil
}

// newKeys creates and seals one key per purpose. The key id is bound into
// the sealed blob, so a sealed key moved to another row does not open.
func (s *Service) newKeys(slug string) ([]Key, error) {
	var out []Key
	for _, p := range []struct {
		purpose string
		alg     keys.Alg
	}{{PurposeDI, keys.Ed25519}, {PurposeJWT, keys.P256}} {
		kp, err := keys.Generate(p.alg)
		if err != nil {
			return nil, err
		}
		id := strings.ReplaceAll(newUUID(), "-", "")[:16]
		sealed, err := s.sealer.SealKeyPair(kp, []byte(id))
		if err != nil {
			return nil, fmt.Errorf("seal key: %w", err)
		}
		out = append(out, Key{ID: id, Issuer: slug, Purpose: p.purpose, Alg: p.alg,
			PublicMultibase: kp.PublicKeyMultibase(), Sealed: sealed, CreatedAt: s.now()})
	}
	return out, nil
}

// CreateIssuer creates an issuer and its first keys.
func (s *Service) CreateIssuer(ctx context.Context, actor string, in IssuerInput) (*Issuer, error) {
	in.Slug = strings.TrimSpace(in.Slug)
	if err := in.check(); err != nil {
		return nil, err
	}
	ks, err := s.newKeys(in.Slug)
	if err != nil {
		return nil, err
	}
	iss := Issuer{Slug: in.Slug, Name: strings.TrimSpace(in.Name), URL: in.URL, Email: in.Email,
		Description: in.Description, ImageURL: in.ImageURL, CreatedAt: s.now()}
	err = s.store.CreateIssuer(ctx, iss, ks, AuditEntry{At: s.now(), Actor: actor, Action: "issuer.create", Issuer: in.Slug, Target: s.IssuerID(in.Slug)})
	if errors.Is(err, ErrConflict) {
		return nil, &InputError{Field: "slug", Reason: fmt.Sprintf("an issuer %q already exists", in.Slug)}
	}
	if err != nil {
		return nil, fmt.Errorf("create issuer: %w", err)
	}
	return &iss, nil
}

// Issuer returns one issuer.
func (s *Service) Issuer(ctx context.Context, slug string) (*Issuer, error) {
	return s.store.Issuer(ctx, slug)
}

// Issuers lists every issuer.
func (s *Service) Issuers(ctx context.Context) ([]Issuer, error) { return s.store.Issuers(ctx) }

// RotateKeys replaces the issuer's active keys with new ones; the old ones
// stay published (retired) so that what they signed keeps verifying.
func (s *Service) RotateKeys(ctx context.Context, actor, slug string) ([]Key, error) {
	if _, err := s.store.Issuer(ctx, slug); err != nil {
		return nil, err
	}
	ks, err := s.newKeys(slug)
	if err != nil {
		return nil, err
	}
	ids := []string{ks[0].ID, ks[1].ID}
	if err := s.store.RotateKeys(ctx, slug, ks, s.now(), AuditEntry{At: s.now(), Actor: actor, Action: "keys.rotate", Issuer: slug, Target: strings.Join(ids, ",")}); err != nil {
		return nil, fmt.Errorf("rotate keys of %s: %w", slug, err)
	}
	return ks, nil
}

// Keys lists an issuer's keys (public parts are what callers should use).
func (s *Service) Keys(ctx context.Context, slug string) ([]Key, error) {
	return s.store.Keys(ctx, slug)
}

// activeKey opens the issuer's active key for a purpose.
func (s *Service) activeKey(ctx context.Context, slug, purpose string) (Key, *keys.KeyPair, error) {
	ks, err := s.store.Keys(ctx, slug)
	if err != nil {
		return Key{}, nil, err
	}
	for i := len(ks) - 1; i >= 0; i-- {
		k := ks[i]
		if k.Purpose != purpose || k.RetiredAt != nil {
			continue
		}
		kp, err := s.open(k)
		return k, kp, err
	}
	return Key{}, nil, fmt.Errorf("issuer %s has no active %s key", slug, purpose)
}

func (s *Service) open(k Key) (*keys.KeyPair, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if kp, ok := s.opened[k.ID]; ok {
		return kp, nil
	}
	kp, err := s.sealer.OpenKeyPair(k.Sealed, []byte(k.ID))
	if err != nil {
		return nil, fmt.Errorf("open key %s: %w", k.ID, err)
	}
	s.opened[k.ID] = kp
	return kp, nil
}

// verificationMethod is the id of a key in the issuer's controller
// document: {issuer id}#{publicKeyMultibase}, which verifiers (the 1EdTech
// validator among them) resolve without fetching anything.
func (s *Service) verificationMethod(slug string, k Key) string {
	return s.IssuerID(slug) + "#" + k.PublicMultibase
}

// ProfileDocument is the issuer's public profile at its id. It is also the
// controller document of its keys: every key, retired ones included, is a
// Multikey verification method and an assertion method.
func (s *Service) ProfileDocument(ctx context.Context, slug string) (map[string]any, error) {
	iss, err := s.store.Issuer(ctx, slug)
	if err != nil {
		return nil, err
	}
	ks, err := s.store.Keys(ctx, slug)
	if err != nil {
		return nil, err
	}
	id := s.IssuerID(slug)
	var vms []any
	var am []string
	for _, k := range ks {
		vm := s.verificationMethod(slug, k)
		vms = append(vms, map[string]any{"id": vm, "type": "Multikey", "controller": id, "publicKeyMultibase": k.PublicMultibase})
		am = append(am, vm)
	}
	doc := map[string]any{
		// The DID context first: verifiers frame controller documents with
		// it (jsonld-signatures fails in safe mode otherwise).
		"@context": []any{
			"https://www.w3.org/ns/did/v1",
			"https://w3id.org/security/multikey/v1",
			map[string]any{
				"Profile":     "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Profile",
				"name":        "https://schema.org/name",
				"url":         map[string]any{"@id": "https://schema.org/url", "@type": "@id"},
				"email":       "https://schema.org/email",
				"description": "https://schema.org/description",
				"image":       map[string]any{"@id": "https://schema.org/image", "@type": "@id"},
			},
		},
		"id":                 id,
		"type":               "Profile",
		"name":               iss.Name,
		"verificationMethod": vms,
		"assertionMethod":    am,
	}
	for k, v := range map[string]string{"url": iss.URL, "email": iss.Email, "description": iss.Description, "image": iss.ImageURL} {
		if v != "" {
			doc[k] = v
		}
	}
	return doc, nil
}

// KeyJWK returns the public JWK of one key, which its kid URL serves.
func (s *Service) KeyJWK(ctx context.Context, slug, keyID string) (json.RawMessage, error) {
	ks, err := s.store.Keys(ctx, slug)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		if k.ID == keyID {
			return s.publicJWK(slug, k)
		}
	}
	return nil, fmt.Errorf("key %s of %s: %w", keyID, slug, ErrNotFound)
}

func (s *Service) publicJWK(slug string, k Key) (json.RawMessage, error) {
	kp, err := keys.DecodePublicKeyMultibase(k.PublicMultibase)
	if err != nil {
		return nil, err
	}
	return kp.MarshalPublicJWK(s.KeyURL(slug, k.ID))
}

// JWKS returns every issuer's public keys as a JWK set.
func (s *Service) JWKS(ctx context.Context) (json.RawMessage, error) {
	issuers, err := s.store.Issuers(ctx)
	if err != nil {
		return nil, err
	}
	set := []json.RawMessage{}
	for _, iss := range issuers {
		ks, err := s.store.Keys(ctx, iss.Slug)
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			j, err := s.publicJWK(iss.Slug, k)
			if err != nil {
				return nil, err
			}
			set = append(set, j)
		}
	}
	return json.Marshal(map[string]any{"keys": set})
}

// DIDWeb is the did:web identifier of an issuer, for issuers that want a
// DID: did:web:{host}:issuers:{slug}, resolved at
// {base}/issuers/{slug}/did.json.
func (s *Service) DIDWeb(slug string) (string, error) {
	u, err := url.Parse(s.base)
	if err != nil {
		return "", err
	}
	did := "did:web:" + strings.ReplaceAll(u.Host, ":", "%3A")
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg != "" {
			did += ":" + seg
		}
	}
	return did + ":issuers:" + slug, nil
}

// DIDDocument is the did:web document of an issuer, listing its keys as
// Multikey (Ed25519) and JsonWebKey (P-256, for JWT kids) methods.
func (s *Service) DIDDocument(ctx context.Context, slug string) (map[string]any, error) {
	did, err := s.DIDWeb(slug)
	if err != nil {
		return nil, err
	}
	ks, err := s.store.Keys(ctx, slug)
	if err != nil {
		return nil, err
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("issuer %s: %w", slug, ErrNotFound)
	}
	var vms []any
	var am []string
	for _, k := range ks {
		vm := did + "#" + k.ID
		m := map[string]any{"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": k.PublicMultibase}
		if k.Purpose == PurposeJWT {
			kp, err := keys.DecodePublicKeyMultibase(k.PublicMultibase)
			if err != nil {
				return nil, err
			}
			m = map[string]any{"id": vm, "type": "JsonWebKey", "controller": did, "publicKeyJwk": kp.JWK("")}
		}
		vms = append(vms, m)
		am = append(am, vm)
	}
	return map[string]any{
		"@context":           []any{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/jwk/v1"},
		"id":                 did,
		"alsoKnownAs":        []string{s.IssuerID(slug)},
		"verificationMethod": vms,
		"assertionMethod":    am,
	}, nil
}
