package badges

import (
	"context"
	"errors"
	"testing"
)

type noNetwork struct{}

func (noNetwork) FetchDocument(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("network down")
}

// A list that could not be trusted is not remembered: the cause may be a
// key document that could not be fetched this time.
func TestListFailuresNotRemembered(t *testing.T) {
	v := NewVerifier(VerifierConfig{Docs: noNetwork{}})
	for name, list := range map[string]map[string]any{
		"unsigned":         {"issuer": "https://x.example/issuer"},
		"key out of reach": {"issuer": "https://x.example/issuer", "proof": map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod", "verificationMethod": "https://x.example/keys/1", "proofValue": "z1"}},
	} {
		if msg := v.listFailure(context.Background(), []byte(name), list); msg == "" {
			t.Errorf("%s: trusted", name)
		}
	}
	if n := len(v.lists.m); n != 0 {
		t.Errorf("%d failures remembered, want none", n)
	}
}
