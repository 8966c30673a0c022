package completion_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/store/storetest"
)

// BenchmarkRecord measures recording and deciding (signing excluded):
// batches of fresh completions, for a course that no mapping matches, and
// for a mapped course whose awards are left to the worker.
func BenchmarkRecord(b *testing.B) {
	for _, be := range storetest.Backends() {
		for _, mapped := range []bool{false, true} {
			for _, size := range []int{100, 1000} {
				name := fmt.Sprintf("%s/mapped=%t/batch=%d", be.Name, mapped, size)
				b.Run(name, func(b *testing.B) {
					f := newFixture(b, be.DSN(b), -1)
					f.Issuer(b, "ac-lyon", "Académie de Lyon")
					ach := f.Achievement(b, "ac-lyon", "Numérique").ID
					activity := "https://magistere.example.fr/course/view.php?id=7"
					if mapped {
						activity = course
					}
					f.mapping(b, completion.MappingInput{Activity: course, Achievement: ach})
					ctx := context.Background()
					n := 0
					batch := func() []completion.Completion {
						cs := make([]completion.Completion, size)
						for i := range cs {
							cs[i] = learnerCompletion(i)
							cs[i].Learner.Email = fmt.Sprintf("p%d@example.org", n)
							cs[i].Activity.ID = activity
							n++
						}
						return cs
					}
					b.ResetTimer()
					for range b.N {
						b.StopTimer()
						cs := batch()
						b.StartTimer()
						res, err := f.svc.Record(ctx, cs)
						if err != nil {
							b.Fatal(err)
						}
						if res.Recorded != size || (mapped && res.Pending != size) || (!mapped && res.Pending != 0) {
							b.Fatalf("%+v", res)
						}
					}
					b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "completions/s")
				})
			}
		}
	}
}

// BenchmarkCompletionsToCredentials10k: 10,000 completions of a mapped
// course, recorded in one call, then issued by the award worker: the end
// to end figure to compare with issuing's BenchmarkBulkAward10k.
func BenchmarkCompletionsToCredentials10k(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			f := newFixture(b, be.DSN(b), -1)
			f.Issuer(b, "ac-lyon", "Académie de Lyon")
			ach := f.Achievement(b, "ac-lyon", "Numérique", alignments(b)...).ID
			f.mapping(b, completion.MappingInput{Activity: course, Achievement: ach})
			ctx := context.Background()
			var record, issue time.Duration
			b.ResetTimer()
			for it := range b.N {
				b.StopTimer()
				cs := make([]completion.Completion, 10000)
				for i := range cs {
					cs[i] = learnerCompletion(i)
					cs[i].Learner.Email = fmt.Sprintf("p%d-%d@example.org", it, i)
				}
				b.StartTimer()
				t0 := time.Now()
				res, err := f.svc.Record(ctx, cs)
				if err != nil || res.Pending != 10000 {
					b.Fatalf("%+v %v", res, err)
				}
				t1 := time.Now()
				n, err := f.svc.IssuePending(ctx)
				if err != nil || n != 10000 {
					b.Fatalf("issued %d: %v", n, err)
				}
				record += t1.Sub(t0)
				issue += time.Since(t1)
			}
			b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "credentials/s")
			b.ReportMetric(record.Seconds()/float64(b.N), "record-s/op")
			b.ReportMetric(issue.Seconds()/float64(b.N), "issue-s/op")
		})
	}
}
