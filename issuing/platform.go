package issuing

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/dataintegrity"
)

// PlatformProfile is the profile of an issuer that signs documents the
// service itself issues (a learner's CLR record).
func (s *Service) PlatformProfile(ctx context.Context, slug string) (badges.Profile, error) {
	iss, err := s.store.Issuer(ctx, slug)
	if err != nil {
		return badges.Profile{}, err
	}
	return s.profile(iss), nil
}

// SignDataIntegrity signs doc, built by the caller with the issuer's
// profile, with the issuer's active Ed25519 key (eddsa-rdfc-2022) and
// returns it as JSON. The private key stays here.
func (s *Service) SignDataIntegrity(ctx context.Context, slug string, doc map[string]any) ([]byte, error) {
	k, kp, err := s.activeKey(ctx, slug, PurposeDI)
	if err != nil {
		return nil, err
	}
	priv, ok := kp.Private.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("issuer %s: data integrity key is not Ed25519", slug)
	}
	signed, err := dataintegrity.Sign(s.canon, doc, priv, dataintegrity.Options{VerificationMethod: s.verificationMethod(slug, k), Created: s.now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return json.Marshal(signed)
}
