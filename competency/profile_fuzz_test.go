package competency

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzCredentialCoverage feeds the profile and the statistics' reader of
// signed credentials arbitrary JSON: a credential stored by an older
// version, or imported, may hold anything. It must never panic, and every
// coverage it finds is a CFItem alignment of the document with a level
// from the document's own scale.
func FuzzCredentialCoverage(f *testing.F) {
	f.Add([]byte(`{"id":"urn:uuid:1","issuer":{"id":"https://insigne.example/issuers/a","name":"A"},"validFrom":"2026-11-20T10:00:00Z",
"credentialSubject":{"achievement":{"id":"https://insigne.example/achievements/x","name":"B",
"alignment":[{"targetType":"CFItem","targetCode":"CC14","targetUrl":"https://insigne.example/ims/case/v1p0/CFItems/06fda6c5-ad51-5d9c-b61f-08cbe1146296"}],
"resultDescription":[{"id":"urn:rd","rubricCriterionLevel":[{"id":"urn:l1","name":"Un"},{"id":"urn:l2","name":"Deux"}]}]},
"result":[{"resultDescription":"urn:rd","achievedLevel":"urn:l2","alignment":[{"targetType":"CFItem","targetCode":"CC4","targetUrl":"https://insigne.example/ims/case/v1p0/CFItems/x"}]},
{"achievedLevel":"urn:l1"}]},"evidence":[{"id":"https://insigne.example/evidence/abc"}]}`))
	f.Add([]byte(`{"credentialSubject":{"result":[{"achievedLevel":"x","alignment":[{"targetType":"CFItem"}]}]}}`))
	f.Add([]byte(`{"credentialSubject":{"achievement":{"alignment":[{"targetType":"CFItem","targetUrl":"u"},{"targetType":"CFItem","targetUrl":"u"}]}}}`))
	f.Add([]byte(`{"credentialSubject":[]}`))
	f.Add([]byte(`null`))
	s := &Service{base: "https://insigne.example"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var full credentialDoc
		var d coverageDoc
		if json.Unmarshal(data, &d) != nil {
			return
		}
		// The profile's reader sees the same coverage as the statistics'.
		if json.Unmarshal(data, &full) == nil && !reflect.DeepEqual(full.coverage().covers(), d.covers()) {
			t.Fatalf("the profile and the statistics read different coverages")
		}
		seen := map[string]bool{}
		for _, c := range d.covers() {
			if c.itemURL == "" || seen[c.itemURL] {
				t.Fatalf("coverage %+v empty or repeated", c)
			}
			seen[c.itemURL] = true
			if c.level != nil && (c.level.Rank < 1 || c.level.Rank > c.level.Of) {
				t.Fatalf("level %+v off its scale", c.level)
			}
			if id, ok := s.itemID(c.itemURL); ok && (len(id) != 36 || !strings.HasSuffix(c.itemURL, id) && !strings.EqualFold(c.itemURL[len(c.itemURL)-36:], id)) {
				t.Fatalf("item id %q from %q", id, c.itemURL)
			}
		}
	})
}
