package backpack

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/vcjwt"
)

// checkRecipient adds to a report whether the credential names one of the
// learner's confirmed addresses as its recipient (OB 3.0 IdentityObjects,
// OB 2.0 recipient, hashed with their salt or plain). A credential about
// someone else can be kept, but the learner and whoever they share it with
// see it: the check is a warning, never a refusal.
func (s *Service) checkRecipient(ctx context.Context, userID string, payload []byte, r *badges.Report) {
	if r == nil || r.Verdict == badges.Invalid {
		return
	}
	emails, err := s.Identities(ctx, userID)
	if err != nil || len(emails) == 0 {
		return
	}
	ids := recipientIdentities(payload)
	if len(ids) == 0 {
		r.Checks = append(r.Checks, badges.Check{Name: "recipient", Warning: true,
			Message: "the credential names no e-mail address: it cannot be tied to your backpack"})
		r.Verdict = badges.Warnings
		return
	}
	for _, id := range ids {
		for _, e := range emails {
			if id.hashed && strings.EqualFold(id.value, badges.HashIdentity(e, id.salt)) || !id.hashed && badges.NormalizeEmail(id.value) == e {
				r.Checks = append(r.Checks, badges.Check{Name: "recipient", OK: true, Message: "issued to " + e + ", one of your addresses"})
				return
			}
		}
	}
	r.Checks = append(r.Checks, badges.Check{Name: "recipient", Warning: true,
		Message: "the credential is not issued to any of your confirmed addresses"})
	r.Verdict = badges.Warnings
}

type identity struct {
	value, salt string
	hashed      bool
}

// recipientIdentities reads the e-mail identities a credential names.
func recipientIdentities(payload []byte) []identity {
	doc := bytes.TrimSpace(payload)
	if vcjwt.LooksLikeJWS(doc) {
		parts := bytes.Split(doc, []byte("."))
		p, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
		if err != nil {
			return nil
		}
		doc = p
	}
	var d struct {
		VC        json.RawMessage `json:"vc"`
		Subject   json.RawMessage `json:"credentialSubject"`
		Recipient *struct {
			Type     string `json:"type"`
			Identity string `json:"identity"`
			Hashed   bool   `json:"hashed"`
			Salt     string `json:"salt"`
		} `json:"recipient"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return nil
	}
	if len(d.VC) > 0 {
		json.Unmarshal(d.VC, &d)
	}
	if d.Recipient != nil {
		if d.Recipient.Type != "email" || d.Recipient.Identity == "" {
			return nil
		}
		return []identity{{value: d.Recipient.Identity, salt: d.Recipient.Salt, hashed: d.Recipient.Hashed}}
	}
	var subj struct {
		Identifier json.RawMessage `json:"identifier"`
	}
	json.Unmarshal(d.Subject, &subj)
	type idObj struct {
		IdentityHash string `json:"identityHash"`
		IdentityType string `json:"identityType"`
		Hashed       bool   `json:"hashed"`
		Salt         string `json:"salt"`
	}
	var list []idObj
	if json.Unmarshal(subj.Identifier, &list) != nil {
		var one idObj
		if json.Unmarshal(subj.Identifier, &one) == nil {
			list = []idObj{one}
		}
	}
	var out []identity
	for _, o := range list {
		if o.IdentityType == "emailAddress" && o.IdentityHash != "" {
			out = append(out, identity{value: o.IdentityHash, salt: o.Salt, hashed: o.Hashed})
		}
	}
	return out
}
