package competency_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// benchData fills a database with the official frameworks and n learners
// holding per credentials each, every credential aligned to three items
// and carrying a trainer's result on one, shaped and sized like what
// issuing signs (about 3 KB).
func benchData(b *testing.B, db *store.DB, learners, per int) *competency.Service {
	b.Helper()
	ctx := context.Background()
	s := competency.NewService(db, base, nil, nil)
	if err := s.SeedOfficial(ctx); err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := db.CreateIssuer(ctx, issuing.Issuer{Slug: "ac-lyon", Name: "Académie de Lyon", CreatedAt: t0}, nil, issuing.AuditEntry{}); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateAchievement(ctx, issuing.Achievement{ID: "a1", Issuer: "ac-lyon", Version: 1, Data: json.RawMessage(`{}`), CreatedAt: t0}, issuing.AuditEntry{}); err != nil {
		b.Fatal(err)
	}
	official, _ := competency.Official()
	var items []competency.Item
	for _, f := range official {
		items = append(items, f.Items...)
	}
	url := func(it competency.Item) string { return base + "/ims/case/v1p0/CFItems/" + it.Identifier }
	var batch []issuing.Credential
	flush := func() {
		if err := db.InsertCredentials(ctx, batch, nil, nil); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	n := 0
	for l := range learners {
		email := fmt.Sprintf("learner%d@example.org", l)
		if err := db.SetLearnerAttributes(ctx, competency.Learner{Email: email, Academie: []string{"Lyon", "Grenoble", "Clermont"}[l%3], UpdatedAt: t0}); err != nil {
			b.Fatal(err)
		}
		for k := range per {
			n++
			a, c, d := items[(n*7)%len(items)], items[(n*11)%len(items)], items[(n*13)%len(items)]
			doc := map[string]any{
				"@context": []string{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
				"id":       fmt.Sprintf("urn:uuid:%08d-0000-4000-8000-000000000000", n), "type": []string{"VerifiableCredential", "OpenBadgeCredential"},
				"issuer":    map[string]any{"id": base + "/issuers/ac-lyon", "type": []string{"Profile"}, "name": "Académie de Lyon"},
				"validFrom": t0.Add(time.Duration(n) * time.Hour).Format(time.RFC3339),
				"credentialSubject": map[string]any{"type": []string{"AchievementSubject"},
					"identifier": []map[string]any{{"type": "IdentityObject", "identityHash": "sha256$" + strings.Repeat("ab", 32), "identityType": "emailAddress", "hashed": true, "salt": "0123456789abcdef"}},
					"achievement": map[string]any{"id": base + "/achievements/a1", "type": []string{"Achievement"}, "name": "Gérer la classe",
						"description": "Organise et anime le travail de la classe.", "criteria": map[string]string{"narrative": "Observation d'une séance."},
						"alignment": []map[string]any{
							{"type": []string{"Alignment"}, "targetType": "CFItem", "targetCode": a.HumanCodingScheme, "targetName": a.FullStatement, "targetUrl": url(a)},
							{"type": []string{"Alignment"}, "targetType": "CFItem", "targetCode": c.HumanCodingScheme, "targetName": c.FullStatement, "targetUrl": url(c)}},
						"resultDescription": []map[string]any{{"id": base + "/scales/m", "type": []string{"ResultDescription"}, "name": "Maîtrise", "resultType": "RubricCriterionLevel",
							"rubricCriterionLevel": []map[string]any{{"id": base + "/scales/m#1", "name": "Un"}, {"id": base + "/scales/m#2", "name": "Deux"}, {"id": base + "/scales/m#3", "name": "Trois"}}}}},
					"result": []map[string]any{{"type": []string{"Result"}, "resultDescription": base + "/scales/m", "achievedLevel": fmt.Sprintf("%s/scales/m#%d", base, 1+k%3),
						"alignment": []map[string]any{{"type": []string{"Alignment"}, "targetType": "CFItem", "targetCode": d.HumanCodingScheme, "targetName": d.FullStatement, "targetUrl": url(d)}}}}},
				"evidence": []map[string]any{{"id": base + "/evidence/" + strings.Repeat("0", 64), "type": []string{"Evidence"}, "name": "Grille"}},
				"proof": []map[string]any{{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "created": "2026-01-01T00:00:00Z",
					"verificationMethod": base + "/issuers/ac-lyon#z6Mk" + strings.Repeat("x", 44), "proofPurpose": "assertionMethod", "proofValue": "z" + strings.Repeat("5", 86)}},
			}
			signed, _ := json.Marshal(doc)
			batch = append(batch, issuing.Credential{ID: fmt.Sprintf("c%d", n), Issuer: "ac-lyon", AchievementID: "a1", AchievementVersion: 1,
				RecipientEmail: email, StatusList: 1 + n/100000, StatusIndex: n % 100000, State: issuing.StateActive, Signed: signed, CreatedAt: t0.Add(time.Duration(n) * time.Hour)})
			if len(batch) == 500 {
				flush()
			}
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return s
}

// BenchmarkProfile reads one learner's competency profile (20 credentials)
// in a database of 10,000 credentials: the query, reading each signed
// credential and grouping by item.
func BenchmarkProfile(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db, err := store.Open(context.Background(), be.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s := benchData(b, db, 500, 20)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				p, err := s.Profile(ctx, fmt.Sprintf("learner%d@example.org", i%500), nil)
				if err != nil || len(p.Frameworks) == 0 {
					b.Fatalf("%+v %v", p, err)
				}
			}
		})
	}
}

// BenchmarkStatistics computes an issuer's statistics over 10,000
// credentials.
func BenchmarkStatistics(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db, err := store.Open(context.Background(), be.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			benchData(b, db, 500, 20)
			ctx := context.Background()
			// Cold: a fresh service reads and parses every signed
			// credential; warm: the coverage of each is cached.
			b.Run("cold", func(b *testing.B) {
				for b.Loop() {
					s := competency.NewService(db, base, nil, nil)
					if st, err := s.Statistics(ctx, "ac-lyon"); err != nil || st.Total != 10000 {
						b.Fatalf("%+v %v", st, err)
					}
				}
			})
			b.Run("warm", func(b *testing.B) {
				s := competency.NewService(db, base, nil, nil)
				s.Statistics(ctx, "ac-lyon")
				for b.Loop() {
					if st, err := s.Statistics(ctx, "ac-lyon"); err != nil || st.Total != 10000 {
						b.Fatalf("%+v %v", st, err)
					}
				}
			})
		})
	}
}
