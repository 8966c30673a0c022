package xapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/completion/xapi/xapitest"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/keys"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// BenchmarkSaveAndRecord is the ingestion figure: statements
// parsed, stored and recorded by the real completion service, which finds
// the mapping each one satisfies and decides its award (one new learner
// per statement, so every statement decides a credential). Signing is
// left out, as the target says: the service runs with SyncLimit
// -1, so awards wait for the worker, which does not run here.
func BenchmarkSaveAndRecord(b *testing.B) {
	l, err := jsonld.NewLoader()
	if err != nil {
		b.Fatal(err)
	}
	canon := jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, be.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			kek := make([]byte, keys.KEKSize)
			rand.Read(kek)
			sealer, _ := keys.NewSealer(kek)
			iss := issuing.New(issuing.Config{Store: db, Blobs: store.DiskBlobs{Dir: b.TempDir()}, Sealer: sealer, Canon: canon, BaseURL: base})
			if _, err := iss.CreateIssuer(ctx, "bench", issuing.IssuerInput{Slug: "versailles", Name: "Académie de Versailles", URL: "https://www.ac-versailles.fr"}); err != nil {
				b.Fatal(err)
			}
			var spec issuing.AchievementSpec
			json.Unmarshal([]byte(`{"name":"Enseigner avec le numérique","description":"A suivi le parcours.","achievementType":"Badge","criteria":{"narrative":"Avoir achevé le parcours."}}`), &spec)
			a, err := iss.CreateAchievement(ctx, "bench", "versailles", spec)
			if err != nil {
				b.Fatal(err)
			}
			comp := completion.New(completion.Config{Store: db, Issuing: iss, SyncLimit: -1})
			m, err := comp.NewMapping(ctx, completion.MappingInput{Activity: site + "/course/view.php?id=42", Achievement: a.ID})
			if err != nil {
				b.Fatal(err)
			}
			if err := comp.SaveMapping(ctx, "bench", m); err != nil {
				b.Fatal(err)
			}
			svc := xapi.NewService(db, comp, base, time.Now)
			cl, _, err := svc.CreateClient(ctx, "versailles", "bench", "")
			if err != nil {
				b.Fatal(err)
			}
			const batch = 100
			bodies := make([][]byte, b.N)
			for i := range b.N {
				sts := make([]any, batch)
				for j := range sts {
					n := i*batch + j
					sts[j] = xapitest.CourseCompleted(xapitest.UUID(n), site, 42, "Cours", xapitest.Learner{Email: fmt.Sprintf("l%d@ac-versailles.fr", n), Name: "L"}, t0)
				}
				bodies[i] = xapitest.JSON(sts)
			}
			b.ResetTimer()
			decided := 0
			for i := range b.N {
				_, res, err := svc.Save(ctx, cl, bodies[i], "")
				if err != nil {
					b.Fatal(err)
				}
				if res.Recorded != batch {
					b.Fatalf("recorded %d of %d", res.Recorded, batch)
				}
				decided += res.Pending + len(res.Awarded)
			}
			b.StopTimer()
			if decided != b.N*batch {
				b.Fatalf("%d awards decided for %d statements", decided, b.N*batch)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "statements/s")
		})
	}
}
