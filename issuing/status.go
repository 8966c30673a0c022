package issuing

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/insigne/insigne/badges/dataintegrity"
	"github.com/insigne/insigne/badges/statuslist"
)

// Credentials carry one BitstringStatusListEntry (the OB 3.0 schema allows
// a single credentialStatus), with the purpose "revocation". A suspension
// sets the same bit, so that every verifier stops accepting the credential;
// lifting it clears the bit again. Insigne itself knows which of the two
// it is and says so on the credential's page. A revocation is final.

// Revoke revokes a credential for good.
func (s *Service) Revoke(ctx context.Context, actor, id, reason string) error {
	return s.setState(ctx, actor, id, StateRevoked, reason)
}

// Suspend puts a credential on hold.
func (s *Service) Suspend(ctx context.Context, actor, id, reason string) error {
	return s.setState(ctx, actor, id, StateSuspended, reason)
}

// Reinstate lifts a suspension.
func (s *Service) Reinstate(ctx context.Context, actor, id, reason string) error {
	return s.setState(ctx, actor, id, StateActive, reason)
}

func (s *Service) setState(ctx context.Context, actor, id, state, reason string) error {
	if len(reason) > 500 {
		return inputErr("reason", "is longer than 500 characters")
	}
	c, err := s.Credential(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case c.State == StateRevoked && state != StateRevoked:
		return inputErr("", "credential %s is revoked, which is final", id)
	case c.State == state:
		return nil // nothing to do; not an error, so retries are safe
	case state == StateActive && c.State != StateSuspended:
		return inputErr("", "credential %s is not suspended", id)
	}
	action := map[string]string{StateRevoked: "credential.revoke", StateSuspended: "credential.suspend", StateActive: "credential.reinstate"}[state]
	return s.store.SetCredentialState(ctx, id, state, strings.TrimSpace(reason),
		AuditEntry{At: s.now(), Actor: actor, Action: action, Issuer: c.Issuer, Target: "urn:uuid:" + id, Detail: reason})
}

// StatusListCredential returns the signed BitstringStatusListCredential of
// an issuer's list n, and its version (for ETags). The signed list is
// cached in the store until a credential on it changes state.
func (s *Service) StatusListCredential(ctx context.Context, slug string, n int) ([]byte, int, error) {
	if n < 1 {
		return nil, 0, fmt.Errorf("status list %d: %w", n, ErrNotFound)
	}
	if _, err := s.store.Issuer(ctx, slug); err != nil {
		return nil, 0, err
	}
	l, err := s.store.StatusList(ctx, slug, n)
	if err != nil {
		return nil, 0, err
	}
	// A signed list is stored only once the list was found to exist:
	// answer it before asking, since the question counts the issuer's
	// credentials (it made every verification slower as they grew).
	if l.Signed != nil && l.SignedVersion == l.Version {
		return l.Signed, l.Version, nil
	}
	if l.Version == 0 {
		// Never changed: it must at least exist.
		last, _, err := s.store.StatusUsage(ctx, slug)
		if err != nil {
			return nil, 0, err
		}
		if n > max(last, 1) {
			return nil, 0, fmt.Errorf("status list %s/%d: %w", slug, n, ErrNotFound)
		}
	}
	flagged, err := s.store.FlaggedIndexes(ctx, slug, n)
	if err != nil {
		return nil, 0, err
	}
	bits, err := statuslist.New(statuslist.MinSize)
	if err != nil {
		return nil, 0, err
	}
	for _, i := range flagged {
		if err := bits.Set(i, true); err != nil {
			return nil, 0, err
		}
	}
	doc, err := statuslist.ListCredential(s.StatusListURL(slug, n), s.IssuerID(slug), "revocation", bits, s.now().UTC())
	if err != nil {
		return nil, 0, err
	}
	k, kp, err := s.activeKey(ctx, slug, PurposeDI)
	if err != nil {
		return nil, 0, err
	}
	signed, err := dataintegrity.Sign(s.canon, doc, kp.Private.(ed25519.PrivateKey), dataintegrity.Options{VerificationMethod: s.verificationMethod(slug, k), Created: s.now()})
	if err != nil {
		return nil, 0, fmt.Errorf("sign status list: %w", err)
	}
	out, err := json.Marshal(signed)
	if err != nil {
		return nil, 0, err
	}
	if err := s.store.SaveSignedStatusList(ctx, slug, n, l.Version, out); err != nil {
		return nil, 0, err
	}
	return out, l.Version, nil
}
