package badges

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"unicode/utf8"
)

// Template issues many credentials that differ only in their id, recipient
// and status entry, as a bulk award does. The shared parts (issuer,
// achievement, evidence, dates) are built and checked once; each credential
// then costs a map copy and its recipient's hashes.
type Template struct {
	base    map[string]any
	subject map[string]any
	// The JSON of each shared value, for Marshal.
	baseJSON, subjectJSON map[string][]byte
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
	t := &Template{base: base, subject: subject, baseJSON: map[string][]byte{}, subjectJSON: map[string][]byte{}}
	for k, v := range base {
		if t.baseJSON[k], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	for k, v := range subject {
		if t.subjectJSON[k], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Marshal is json.Marshal for a credential of the template (signed or
// not): the values it shares with the template are written from their
// JSON, computed once, rather than encoded again for every credential.
func (t *Template) Marshal(doc map[string]any) ([]byte, error) {
	b := make([]byte, 0, 4096)
	return t.appendObject(b, doc, t.base, t.baseJSON)
}

// appendObject writes m, a JSON object, with its members in sorted order
// as encoding/json does; a member that is the template's own value
// (shared maps and slices are the same ones, other values equal) comes
// from cached.
func (t *Template) appendObject(b []byte, m, shared map[string]any, cached map[string][]byte) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b = append(append(b, kb...), ':')
		v := m[k]
		if shared != nil && same(v, shared[k]) {
			if j, ok := cached[k]; ok {
				b = append(b, j...)
				continue
			}
		}
		if sub, ok := v.(map[string]any); ok && k == "credentialSubject" && shared != nil {
			if b, err = t.appendObject(b, sub, t.subject, t.subjectJSON); err != nil {
				return nil, err
			}
			continue
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b = append(b, j...)
	}
	return append(b, '}'), nil
}

// same reports whether v is the template's value w: the same map or
// slice, or an equal string, number, boolean or null.
func same(v, w any) bool {
	switch x := v.(type) {
	case map[string]any:
		y, ok := w.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case []any:
		y, ok := w.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case string, float64, bool:
		return v == w
	case nil:
		return w == nil
	}
	return false
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
		m, err := statusObject(st)
		if err != nil {
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

// statusObject is the JSON object of a status entry, as MarshalJSON
// writes it. The common entry (strings only, valid UTF-8, the usual
// members) is built directly: it is made for every credential of a bulk
// award.
func statusObject(st *CredentialStatus) (map[string]any, error) {
	plain := st.StatusSize == nil && len(st.Extra) == 0
	for _, v := range []string{st.ID, st.Type, st.StatusPurpose, st.StatusListIndex, st.StatusListCredential} {
		plain = plain && utf8.ValidString(v)
	}
	if plain {
		m := make(map[string]any, 5)
		for _, kv := range [...][2]string{{"id", st.ID}, {"type", st.Type}, {"statusPurpose", st.StatusPurpose},
			{"statusListIndex", st.StatusListIndex}, {"statusListCredential", st.StatusListCredential}} {
			if kv[1] != "" {
				m[kv[0]] = kv[1]
			}
		}
		return m, nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}
