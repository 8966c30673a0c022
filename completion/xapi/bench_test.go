package xapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/completion/xapi/xapitest"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// BenchmarkSave parses and stores Moodle-shaped statements in batches of
// 100, as logstore_xapi sends them (its default batch size is 30 to
// 100), and reports statements per second. Recording is left out here
// (nil recorder): the figure is the LRS's own cost.
func BenchmarkSave(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, be.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			svc := xapi.NewService(db, nil, base, time.Now)
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
			for i := range b.N {
				if _, _, err := svc.Save(ctx, cl, bodies[i], ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "statements/s")
		})
	}
}

// BenchmarkParse parses a batch of 100 Moodle-shaped statements.
func BenchmarkParse(b *testing.B) {
	sts := make([]any, 100)
	for j := range sts {
		sts[j] = xapitest.CourseCompleted(xapitest.UUID(j), site, 42, "Cours", xapitest.Learner{Email: fmt.Sprintf("l%d@ac-versailles.fr", j), Name: "L"}, t0)
	}
	body := xapitest.JSON(sts)
	o := xapi.Options{Base: base, Now: t0.Add(time.Hour)}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := xapi.Parse(body, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(sts))/b.Elapsed().Seconds(), "statements/s")
}
