package badges

import (
	"encoding/json"
	"fmt"
)

// Template issues many credentials that differ only in their id, recipient
// and status entry, as a bulk award does. The shared parts (issuer,
// achievement, evidence, dates) are built and checked once; each credential
// then costs a map copy and its recipient's hashes.
type Template struct {
	base    map[string]any
	subject map[string]any
}

// NewTemplate checks p as BuildAchievementCredential does. p.ID,
// p.Recipient, p.Status and p.Salt are ignored: each credential brings its
// own.
func NewTemplate(p AwardParams) (*Template, error) {
	p.ID = ""
	p.Recipient = Recipient{Email: "template@example.org"}
	p.Status = nil
	p.Salt = ""
	c, err := BuildAchievementCredential(p)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var base map[string]any
	if err := json.Unmarshal(b, &base); err != nil {
		return nil, err
	}
	subject, _ := base["credentialSubject"].(map[string]any)
	delete(subject, "identifier")
	delete(subject, "id")
	delete(base, "id")
	delete(base, "credentialStatus")
	return &Template{base: base, subject: subject}, nil
}

// Credential returns the unsigned credential for one recipient, as a JSON
// object ready for signing. The nested values it shares with the template
// and with the other credentials must be treated as read-only.
func (t *Template) Credential(id string, r Recipient, status *CredentialStatus) (map[string]any, error) {
	cid, err := credentialID(id)
	if err != nil {
		return nil, fmt.Errorf("build achievement credential: %w", err)
	}
	did, ids, err := recipientIdentity("recipient", r, "")
	if err != nil {
		return nil, fmt.Errorf("build achievement credential: %w", err)
	}
	st, err := normStatus("credentialStatus", status)
	if err != nil {
		return nil, fmt.Errorf("build achievement credential: %w", err)
	}
	subject := make(map[string]any, len(t.subject)+2)
	for k, v := range t.subject {
		subject[k] = v
	}
	if did != "" {
		subject["id"] = did
	}
	if len(ids) > 0 {
		list := make([]any, len(ids))
		for i, o := range ids {
			list[i] = map[string]any{"type": o.Type, "hashed": o.Hashed, "identityHash": o.IdentityHash, "identityType": o.IdentityType, "salt": o.Salt}
		}
		subject["identifier"] = list
	}
	doc := make(map[string]any, len(t.base)+2)
	for k, v := range t.base {
		doc[k] = v
	}
	doc["id"] = cid
	doc["credentialSubject"] = subject
	if st != nil {
		b, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		doc["credentialStatus"] = m
	}
	// The new strings are an id, a DID and status URLs, each checked above;
	// recipients' e-mail addresses and names are only present hashed.
	if err := CheckControlChars(map[string]any{"id": cid, "s": subject["id"], "st": doc["credentialStatus"]}); err != nil {
		return nil, fmt.Errorf("build achievement credential: %w", err)
	}
	return doc, nil
}
