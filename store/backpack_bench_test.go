package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

var (
	benchOnce sync.Once
	benchDB   *store.DB
)

// BenchmarkBackpackListing measures a learner's backpack listing (the
// first page of 50, with the total) as backpack.Service.List runs it:
// the learner's addresses, then their issued and imported credentials.
// PostgreSQL holds 1,000,000 issued credentials (100,000 learners with 10
// each; INSIGNE_BENCH_CREDENTIALS changes the count), generated in SQL.
// Reports p50/p99 latency of single listings run in parallel.
func BenchmarkBackpackListing(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("INSIGNE_BENCH_CREDENTIALS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	const perLearner = 10
	learners := n / perLearner
	ctx := context.Background()
	// Seeded once into a schema of its own that is kept between runs
	// (seeding a million rows takes minutes on this machine); drop it with
	// DROP SCHEMA bench_backpack_N CASCADE.
	benchOnce.Do(func() {
		base := os.Getenv(storetest.EnvURL)
		if base == "" {
			b.Skipf("needs %s", storetest.EnvURL)
		}
		schema := fmt.Sprintf("bench_backpack_%d", learners*perLearner)
		admin, err := sql.Open("pgx", base)
		if err != nil {
			b.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
			b.Fatal(err)
		}
		u, _ := url.Parse(base)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		db, err := store.Open(ctx, u.String())
		if err != nil {
			b.Fatal(err)
		}
		var have int
		admin.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+schema+".credentials").Scan(&have)
		if have != learners*perLearner {
			mkIssuer(b, db, "ac-lyon")
			mkAchievement(b, db, "ac-lyon", "a1")
			start := time.Now()
			if err := db.SeedBackpack(ctx, "ac-lyon", "a1", learners, perLearner); err != nil {
				b.Fatal(err)
			}
			b.Logf("seeded %d credentials for %d learners in %v", learners*perLearner, learners, time.Since(start).Round(time.Second))
		}
		benchDB = db
	})
	db := benchDB
	if db == nil {
		b.Skip("no database")
	}
	svc := backpack.New(backpack.Config{Store: db})
	// Warm up the pool and the caches as a running service would be.
	for i := range 200 {
		if _, total, err := svc.List(ctx, fmt.Sprintf("u%d", i), backpack.Query{Limit: 50}); err != nil || total != perLearner {
			b.Fatalf("learner %d: %d credentials, %v", i, total, err)
		}
	}
	lat := make(chan time.Duration, 1<<20)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			u := fmt.Sprintf("u%d", r.IntN(learners))
			t0 := time.Now()
			items, _, err := svc.List(ctx, u, backpack.Query{Limit: 50})
			d := time.Since(t0)
			if err != nil || len(items) != perLearner {
				b.Errorf("%s: %d items, %v", u, len(items), err)
				return
			}
			select {
			case lat <- d:
			default:
			}
		}
	})
	b.StopTimer()
	close(lat)
	var all []time.Duration
	for d := range lat {
		all = append(all, d)
	}
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}
