package issuing

import (
	"fmt"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/jsonld"
)

// The credentials of one award, built as sign builds them, go through one
// compiled shape, and each canonical form is the one computed in full.
func TestCredentialsShareAShape(t *testing.T) {
	l, err := jsonld.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)
	tpl, err := badges.NewTemplate(badges.AwardParams{
		Issuer: badges.Profile{ID: "https://insigne.example.fr/issuers/ac-lyon", Type: []string{"Profile"}, Name: "Académie de Lyon"},
		Achievement: badges.Achievement{ID: "https://insigne.example.fr/achievements/3f0e", Type: []string{"Achievement"}, Name: "Numérique",
			Description: "Enseigner avec le numérique.", Criteria: &badges.Criteria{Narrative: "Suivre le parcours."},
			Alignment: []badges.Alignment{{Type: []string{"Alignment"}, TargetCode: "CC14", TargetName: "S'engager dans une démarche individuelle et collective de développement professionnel",
				TargetType: "CFItem", TargetURL: "https://insigne.example.fr/ims/case/v1p0/CFItems/cc14"}}},
		ValidFrom: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
		Evidence:  []badges.Evidence{{Type: []string{"Evidence"}, Narrative: "Parcours suivi en entier."}},
	})
	if err != nil {
		t.Fatal(err)
	}
	build := func(i int, did bool, ev []EvidenceInput) map[string]any {
		t.Helper()
		r := badges.Recipient{Email: fmt.Sprintf("p%d@example.org", i)}
		if did {
			r = badges.Recipient{DID: fmt.Sprintf("did:example:p%d", i)}
		}
		list := fmt.Sprintf("https://insigne.example.fr/status/ac-lyon/%d", 1+i%2)
		doc, err := tpl.Credential(fmt.Sprintf("urn:uuid:6f1c2a52-0d7e-4e55-8d1c-%012d", i), r, &badges.CredentialStatus{
			ID: fmt.Sprintf("%s#%d", list, 1000+i), Type: "BitstringStatusListEntry", StatusPurpose: "revocation",
			StatusListIndex: fmt.Sprint(1000 + i), StatusListCredential: list})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) > 0 {
			if err := addEvidence(doc, ev); err != nil {
				t.Fatal(err)
			}
		}
		return doc
	}
	course := func(i int) []EvidenceInput {
		return []EvidenceInput{{URL: "https://magistere.example.fr/course/view.php?id=42", Name: "Cours 42",
			Narrative: fmt.Sprintf("Achevé le %d novembre 2026, 2 h 15 min.", 1+i%28)}}
	}
	for _, tc := range []struct {
		name string
		doc  func(i int) map[string]any
	}{
		{"e-mail, no evidence of their own", func(i int) map[string]any { return build(i, false, nil) }},
		{"e-mail, a completion as evidence", func(i int) map[string]any { return build(i, false, course(i)) }},
		{"DID, a completion as evidence", func(i int) map[string]any { return build(i, true, course(i)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.doc(0)
			holes, _ := varying(first, 1)
			sh, err := c.NewShape(first, holes)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				doc := tc.doc(i)
				got, ok := sh.Canonicalize(doc)
				if !ok {
					t.Fatalf("credential %d: the shape refused it", i)
				}
				want, err := c.Canonicalize(doc)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("credential %d: the shape's canonical form differs\n--- full\n%s--- shape\n%s", i, want, got)
				}
			}
		})
	}
	// Different arrangements have different keys; the same arrangement the same.
	_, k1 := varying(build(1, false, course(1)), 1)
	_, k2 := varying(build(2, false, course(2)), 1)
	_, k3 := varying(build(3, false, []EvidenceInput{{Narrative: "Autre"}}), 1)
	_, k4 := varying(build(4, true, course(4)), 1)
	if k1 != k2 || k1 == k3 || k1 == k4 {
		t.Fatalf("arrangement keys: %q %q %q %q", k1, k2, k3, k4)
	}
}
