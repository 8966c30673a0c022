package keys

import (
	"errors"
	"fmt"
	"strings"
)

// did:key (W3C CCG did:key method): the DID is "did:key:" followed by
// the publicKeyMultibase of the key, and its one verification method is
// the DID with the same value as fragment.

const didKeyPrefix = "did:key:"

// DIDKey returns the did:key identifier of k, or "" if k does not hold
// a supported key.
func (k *KeyPair) DIDKey() string {
	mb := k.PublicKeyMultibase()
	if mb == "" {
		return ""
	}
	return didKeyPrefix + mb
}

// DIDKeyVerificationMethod returns the verification method id of k in
// its did:key document: "did:key:z…#z…".
func (k *KeyPair) DIDKeyVerificationMethod() string {
	mb := k.PublicKeyMultibase()
	if mb == "" {
		return ""
	}
	return didKeyPrefix + mb + "#" + mb
}

// ResolveDIDKey returns the public key named by a did:key DID
// ("did:key:z…") or by its verification method ("did:key:z…#z…", where
// the fragment must repeat the key). Resolution is offline: the key is
// the identifier.
func ResolveDIDKey(didOrVM string) (*KeyPair, error) {
	k, err := resolveDIDKey(didOrVM)
	if err != nil {
		return nil, fmt.Errorf("keys: resolve did:key: %w", err)
	}
	return k, nil
}

func resolveDIDKey(s string) (*KeyPair, error) {
	id, ok := strings.CutPrefix(s, didKeyPrefix)
	if !ok {
		return nil, errors.New(`not a did:key (want "did:key:z…")`)
	}
	id, fragment, hasFragment := strings.Cut(id, "#")
	if hasFragment && fragment != id {
		return nil, errors.New("the fragment does not name the key of this did:key (want did:key:z…#z… with the same value)")
	}
	if strings.ContainsAny(id, "/?:") {
		// did:key has no paths, queries or versioned forms worth
		// supporting; say so instead of failing on base58.
		return nil, errors.New("did:key with a path, query or version is not supported")
	}
	k, err := decodePublicMultibase(id)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// DIDKeyDocument returns the DID document of a did:key (a verification
// method id is accepted too and gives the same document). The
// verification method is a Multikey, referenced from authentication,
// assertionMethod, capabilityInvocation and capabilityDelegation as the
// did:key spec's document algorithm does for signing keys.
//
// Values are []any and map[string]any so that the document compares
// equal to the same JSON decoded with encoding/json.
func DIDKeyDocument(did string) (map[string]any, error) {
	k, err := ResolveDIDKey(did)
	if err != nil {
		return nil, err
	}
	id := k.DIDKey()
	vm := k.DIDKeyVerificationMethod()
	return map[string]any{
		"@context": []any{
			"https://www.w3.org/ns/did/v1",
			"https://w3id.org/security/multikey/v1",
		},
		"id": id,
		"verificationMethod": []any{
			map[string]any{
				"id":                 vm,
				"type":               "Multikey",
				"controller":         id,
				"publicKeyMultibase": k.PublicKeyMultibase(),
			},
		},
		"authentication":       []any{vm},
		"assertionMethod":      []any{vm},
		"capabilityInvocation": []any{vm},
		"capabilityDelegation": []any{vm},
	}, nil
}
