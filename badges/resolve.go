package badges

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/insigne/insigne/keys"
)

// DocumentFetcher fetches a JSON document (a controller or DID document, a
// JWK, a status list). The CLI passes nil when it runs offline; the service
// answers its own URLs from its database and the rest through package fetch.
type DocumentFetcher interface {
	FetchDocument(ctx context.Context, url, accept string) ([]byte, error)
}

// ErrOffline is returned when resolving something needs the network and no
// fetcher was given.
var ErrOffline = errors.New("needs the network, and verification is offline")

// ResolvedKey is a public key found for a verification method or a JWT key
// id, with the controller it belongs to.
type ResolvedKey struct {
	Public     crypto.PublicKey // ed25519.PublicKey, *ecdsa.PublicKey or (JWT only) *rsa.PublicKey
	Controller string           // who the key speaks for; empty when nothing says
	// Confirmed is true when the controller itself vouches for the key: a
	// did:key (self-certifying), or a controller/DID document fetched from
	// the controller that lists the key for assertions.
	Confirmed bool
	// KeyOnly marks a bare did:key verification method (no fragment): it
	// names a key, not a controller speaking for an issuer.
	KeyOnly bool
	How     string // plain words: how the key was found
}

// Resolver finds verification keys. Offline it resolves did:key, methods of
// the form {controller}#{publicKeyMultibase} and keys embedded in a JWT;
// with a DocumentFetcher it also reads controller documents, did:web
// documents and JWK URLs. It is safe for concurrent use.
type Resolver struct {
	Docs DocumentFetcher // nil: offline
}

// ResolveMethod resolves a Data Integrity verification method.
func (r *Resolver) ResolveMethod(ctx context.Context, vm string) (*ResolvedKey, error) {
	switch {
	case vm == "":
		return nil, errors.New("the proof names no verification method")
	case strings.HasPrefix(vm, "did:key:"):
		k, err := keys.ResolveDIDKey(vm)
		if err != nil {
			return nil, err
		}
		did, _, hasFragment := strings.Cut(vm, "#")
		return &ResolvedKey{Public: k.Public, Controller: did, Confirmed: true, KeyOnly: !hasFragment, How: "did:key (the key is the identifier)"}, nil
	case strings.HasPrefix(vm, "did:web:"):
		return r.resolveFromDocument(ctx, vm, didWebURL)
	case strings.HasPrefix(vm, "did:"):
		method, _, _ := strings.Cut(strings.TrimPrefix(vm, "did:"), ":")
		return nil, fmt.Errorf("DID method %q is not supported (did:key and did:web are)", method)
	}
	u, err := url.Parse(vm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("verification method %q is neither a DID nor an http(s) URL", vm)
	}
	controller, frag, _ := strings.Cut(vm, "#")
	if k, err := keys.DecodePublicKeyMultibase(frag); err == nil {
		// The form the 1EdTech validator resolves without a fetch: the
		// fragment is the key. Confirm with the controller's document
		// when we can; the form alone is only the credential's claim.
		rk := &ResolvedKey{Public: k.Public, Controller: controller, How: "the key is in the verification method's fragment"}
		if r.Docs == nil {
			return rk, nil
		}
		if confirmed, err := r.resolveFromDocument(ctx, vm, sameURL); err == nil &&
			sameKey(confirmed.Public, k.Public) && confirmed.Confirmed {
			rk.Confirmed = true
			rk.How = "listed for assertions by the controller document at " + controller
		}
		return rk, nil
	}
	return r.resolveFromDocument(ctx, vm, sameURL)
}

func sameURL(vm string) (string, error) {
	doc, _, _ := strings.Cut(vm, "#")
	return doc, nil
}

// didWebURL maps did:web:example.com:issuers:1 to
// https://example.com/issuers/1/did.json (did:web method §3.2).
func didWebURL(vm string) (string, error) {
	did, _, _ := strings.Cut(vm, "#")
	parts := strings.Split(strings.TrimPrefix(did, "did:web:"), ":")
	if parts[0] == "" {
		return "", fmt.Errorf("%q is not a did:web identifier", did)
	}
	host, err := url.PathUnescape(parts[0])
	if err != nil || strings.ContainsAny(host, "/?#@") {
		return "", fmt.Errorf("%q has an invalid host", did)
	}
	if len(parts) == 1 {
		return "https://" + host + "/.well-known/did.json", nil
	}
	for _, p := range parts[1:] {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/?#") {
			return "", fmt.Errorf("%q has an invalid path", did)
		}
	}
	return "https://" + host + "/" + strings.Join(parts[1:], "/") + "/did.json", nil
}

// resolveFromDocument fetches the document that should describe vm: a
// controller (or DID) document listing it, or a single Multikey/JsonWebKey
// verification method document.
func (r *Resolver) resolveFromDocument(ctx context.Context, vm string, docURL func(string) (string, error)) (*ResolvedKey, error) {
	u, err := docURL(vm)
	if err != nil {
		return nil, err
	}
	if r.Docs == nil {
		return nil, fmt.Errorf("resolving %s %w", vm, ErrOffline)
	}
	body, err := r.Docs.FetchDocument(ctx, u, "application/did+json, application/ld+json, application/json")
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", u, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%s is not a JSON document: %w", u, err)
	}
	docID, _ := doc["id"].(string)
	if methods, ok := doc["verificationMethod"].([]any); ok {
		for _, m := range methods {
			mm, _ := m.(map[string]any)
			id, _ := mm["id"].(string)
			if absoluteRef(docID, id) != vm {
				continue
			}
			k, err := methodKey(mm)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", vm, err)
			}
			controller, _ := mm["controller"].(string)
			if controller == "" {
				controller = docID
			}
			return &ResolvedKey{
				Public: k.Public, Controller: controller,
				Confirmed: docID == controller && listed(doc, "assertionMethod", docID, vm),
				How:       "listed in the document at " + u,
			}, nil
		}
		return nil, fmt.Errorf("the document at %s does not list %s", u, vm)
	}
	// A document for the method alone: {id, type, controller, publicKeyMultibase}.
	if docID != vm {
		return nil, fmt.Errorf("the document at %s describes %q, not %s", u, docID, vm)
	}
	k, err := methodKey(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vm, err)
	}
	controller, _ := doc["controller"].(string)
	return &ResolvedKey{Public: k.Public, Controller: controller, How: "verification method document at " + u}, nil
}

// listsKey tells whether the controller document at controllerID lists pub
// among its own assertion methods.
func (r *Resolver) listsKey(ctx context.Context, controllerID string, pub crypto.PublicKey) bool {
	if r.Docs == nil {
		return false
	}
	body, err := r.Docs.FetchDocument(ctx, controllerID, "application/did+json, application/ld+json, application/json")
	if err != nil {
		return false
	}
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	if id, _ := doc["id"].(string); id != controllerID {
		return false
	}
	methods, _ := doc["verificationMethod"].([]any)
	for _, m := range methods {
		mm, _ := m.(map[string]any)
		id, _ := mm["id"].(string)
		vm := absoluteRef(controllerID, id)
		if c, _ := mm["controller"].(string); c != "" && c != controllerID {
			continue
		}
		k, err := methodKey(mm)
		if err == nil && sameKey(k.Public, pub) && listed(doc, "assertionMethod", controllerID, vm) {
			return true
		}
	}
	return false
}

// absoluteRef resolves a relative method id ("#key-1") against the document id.
func absoluteRef(docID, id string) string {
	if strings.HasPrefix(id, "#") {
		return docID + id
	}
	return id
}

func listed(doc map[string]any, relation, docID, vm string) bool {
	list, _ := doc[relation].([]any)
	for _, e := range list {
		switch t := e.(type) {
		case string:
			if absoluteRef(docID, t) == vm {
				return true
			}
		case map[string]any:
			if id, _ := t["id"].(string); absoluteRef(docID, id) == vm {
				return true
			}
		}
	}
	return false
}

func methodKey(m map[string]any) (*keys.KeyPair, error) {
	if mb, ok := m["publicKeyMultibase"].(string); ok {
		return keys.DecodePublicKeyMultibase(mb)
	}
	if j, ok := m["publicKeyJwk"].(map[string]any); ok {
		b, _ := json.Marshal(j)
		k, err := keys.ParseJWK(b)
		if err != nil {
			return nil, err
		}
		if k.Private != nil {
			return nil, errors.New("the published key contains private material")
		}
		return k, nil
	}
	return nil, errors.New("the verification method has neither publicKeyMultibase nor publicKeyJwk")
}

// ResolveJWTKey implements vcjwt.KeyResolver.
func (r *Resolver) ResolveJWTKey(ctx context.Context, kid string, embedded *jose.JSONWebKey) (crypto.PublicKey, error) {
	rk, err := r.resolveJWT(ctx, kid, embedded)
	if err != nil {
		return nil, err
	}
	return rk.Public, nil
}

func (r *Resolver) resolveJWT(ctx context.Context, kid string, embedded *jose.JSONWebKey) (*ResolvedKey, error) {
	if embedded != nil {
		if !embedded.IsPublic() {
			return nil, errors.New("the token embeds a private key")
		}
		if err := usableJWTKey(embedded.Key); err != nil {
			return nil, fmt.Errorf("embedded jwk: %w", err)
		}
		return &ResolvedKey{Public: embedded.Key, How: "the key is embedded in the token header"}, nil
	}
	switch {
	case kid == "":
		return nil, errors.New("the token has neither a kid nor a jwk header: the issuer's key cannot be found")
	case strings.HasPrefix(kid, "did:"):
		return r.ResolveMethod(ctx, kid)
	}
	u, err := url.Parse(kid)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("kid %q is neither a DID nor an http(s) URL", kid)
	}
	if r.Docs == nil {
		return nil, fmt.Errorf("fetching the key %s %w", kid, ErrOffline)
	}
	body, err := r.Docs.FetchDocument(ctx, kid, "application/jwk+json, application/json")
	if err != nil {
		return nil, fmt.Errorf("fetching the key %s: %w", kid, err)
	}
	// The OB 3.0 validator reads one JWK at the kid URL; accept a JWK set
	// too, picking the key by kid.
	var set jose.JSONWebKeySet
	if json.Unmarshal(body, &set) == nil && len(set.Keys) > 0 {
		for _, k := range set.Keys {
			if k.KeyID == kid || absoluteRef(kid, "#"+k.KeyID) == kid {
				body, _ = k.MarshalJSON()
				break
			}
		}
	}
	k, err := keys.ParseJWK(body)
	if err != nil {
		return nil, fmt.Errorf("the document at %s is not a usable JWK: %w", kid, err)
	}
	if k.Private != nil {
		return nil, fmt.Errorf("the document at %s contains private key material", kid)
	}
	return &ResolvedKey{Public: k.Public, How: "JWK fetched from " + kid}, nil
}

// usableJWTKey accepts the public key types a VC-JWT may be verified with.
// RSA is accepted for verification only: the OB 3.0 validator's own
// examples are RS256.
func usableJWTKey(k any) error {
	switch t := k.(type) {
	case ed25519.PublicKey:
		return nil
	case *ecdsa.PublicKey:
		if t.Curve != elliptic.P256() {
			return errors.New("only P-256 EC keys are accepted")
		}
		return nil
	case *rsa.PublicKey:
		if t.N.BitLen() < 2048 {
			return fmt.Errorf("an RSA key of %d bits is too weak (at least 2048)", t.N.BitLen())
		}
		return nil
	}
	return fmt.Errorf("unsupported key type %T", k)
}

func sameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// controlledBy reports whether a key published at location (a kid URL)
// belongs to the issuer: the same origin, under the issuer's path.
func controlledBy(issuerID, location string) bool {
	iu, err1 := url.Parse(issuerID)
	lu, err2 := url.Parse(location)
	if err1 != nil || err2 != nil || iu.Host == "" {
		return false
	}
	return iu.Scheme == lu.Scheme && iu.Host == lu.Host &&
		(lu.Path == iu.Path || strings.HasPrefix(lu.Path, strings.TrimSuffix(iu.Path, "/")+"/"))
}
