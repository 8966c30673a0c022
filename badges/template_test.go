package badges

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// A credential from a Template is the one BuildAchievementCredential gives
// for the same inputs.
func TestTemplateMatchesBuild(t *testing.T) {
	p := AwardParams{
		Issuer:      Profile{ID: "https://example.org/issuers/1", Type: []string{"Profile"}, Name: "Académie"},
		Achievement: Achievement{ID: "https://example.org/achievements/1", Type: []string{"Achievement"}, Name: "Coopérer", Description: "d", Criteria: &Criteria{Narrative: "n"}},
		ValidFrom:   time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Narrative:   "bravo",
		Evidence:    []Evidence{{ID: "https://example.org/e", Type: []string{"Evidence"}, Name: "e"}},
	}
	tpl, err := NewTemplate(p)
	if err != nil {
		t.Fatal(err)
	}
	status := &CredentialStatus{ID: "https://example.org/status/1#5", Type: "BitstringStatusListEntry", StatusPurpose: "revocation", StatusListIndex: "5", StatusListCredential: "https://example.org/status/1"}
	r := Recipient{Email: "Ana@Example.org", Name: "Ana", DID: "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"}
	got, err := tpl.Credential("urn:uuid:7f0d3c1e-1b7e-4d54-9d0c-2a8f3b6c9e10", r, status)
	if err != nil {
		t.Fatal(err)
	}
	// Salts are random per credential: compare with the salt the template used.
	ids := got["credentialSubject"].(map[string]any)["identifier"].([]any)
	salt := ids[0].(map[string]any)["salt"].(string)
	p.ID, p.Recipient, p.Status, p.Salt = "urn:uuid:7f0d3c1e-1b7e-4d54-9d0c-2a8f3b6c9e10", r, status, salt
	c, err := BuildAchievementCredential(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	var want map[string]any
	json.Unmarshal(b, &want)
	gb, _ := json.Marshal(got)
	var gotRound map[string]any
	json.Unmarshal(gb, &gotRound)
	if !reflect.DeepEqual(gotRound, want) {
		t.Fatalf("template credential differs:\n got %s\nwant %s", gb, b)
	}
	if _, err := tpl.Credential("urn:uuid:x", Recipient{Email: "nope"}, status); err == nil {
		t.Fatal("a bad e-mail address was accepted")
	}
	if _, err := tpl.Credential("urn:uuid:x", Recipient{}, status); err == nil {
		t.Fatal("a recipient with no identity was accepted")
	}
}

// Template.Marshal writes what json.Marshal writes, shared parts or not.
func TestTemplateMarshalIsJSONMarshal(t *testing.T) {
	tpl, err := NewTemplate(AwardParams{
		Issuer: Profile{ID: "https://example.org/issuers/1", Type: []string{"Profile"}, Name: "Académie <Lyon> & co"},
		Achievement: Achievement{ID: "https://example.org/achievements/1", Type: []string{"Achievement"}, Name: "Coopérer", Description: "d",
			Criteria: &Criteria{Narrative: "n"}, Alignment: []Alignment{{Type: []string{"Alignment"}, TargetName: "CC14", TargetURL: "https://example.org/cf/cc14"}}},
		ValidFrom: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Evidence:  []Evidence{{ID: "https://example.org/e", Type: []string{"Evidence"}, Name: "e"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	status := &CredentialStatus{ID: "https://example.org/status/1#5", Type: "BitstringStatusListEntry", StatusPurpose: "revocation", StatusListIndex: "5", StatusListCredential: "https://example.org/status/1"}
	doc, err := tpl.Credential("urn:uuid:7f0d3c1e-1b7e-4d54-9d0c-2a8f3b6c9e10", Recipient{Email: "ana@example.org"}, status)
	if err != nil {
		t.Fatal(err)
	}
	docs := []map[string]any{doc}
	// Signed: a proof added, on a copy (as dataintegrity.Sign does).
	signed := map[string]any{"proof": []any{map[string]any{"type": "DataIntegrityProof", "proofValue": "z3x"}}}
	for k, v := range doc {
		signed[k] = v
	}
	docs = append(docs, signed)
	// The recipient's own evidence appended, and a shared value replaced.
	own := map[string]any{}
	for k, v := range doc {
		own[k] = v
	}
	own["evidence"] = append(append([]any(nil), doc["evidence"].([]any)...), map[string]any{"type": []any{"Evidence"}, "narrative": "à moi"})
	own["name"] = "Autre nom"
	docs = append(docs, own)
	for i, d := range docs {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tpl.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("document %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// statusObject builds what the JSON round trip of a status entry gives.
func TestStatusObjectIsTheJSONRoundTrip(t *testing.T) {
	size := 2
	for _, st := range []*CredentialStatus{
		{ID: "https://example.org/status/1#5", Type: "BitstringStatusListEntry", StatusPurpose: "revocation", StatusListIndex: "5", StatusListCredential: "https://example.org/status/1"},
		{ID: "https://example.org/status/1#5", Type: "1EdTechRevocationList"},
		{ID: "https://example.org/s#\xff", Type: "X"},
		{ID: "https://example.org/s#1", Type: "BitstringStatusListEntry", StatusSize: &size, Extra: map[string]any{"statusMessage": []any{"x"}}},
	} {
		got, err := statusObject(st)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(st)
		var want map[string]any
		json.Unmarshal(b, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v:\n got %v\nwant %v", st, got, want)
		}
	}
}
