package store

import (
	"fmt"
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                               "SELECT 1",
		"":                                       "",
		"?":                                      "$1",
		"a = ? AND b = ?":                        "a = $1 AND b = $2",
		"IN (" + strings.Repeat("?,", 10) + "?)": "IN ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
	} {
		if got, _ := rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

// The cache of rewritten queries answers the same text and stops growing
// at its bound, however many distinct queries are built at run time.
func TestQCacheBounded(t *testing.T) {
	pg := &DB{dialect: Postgres}
	for i := 0; i < maxRebound+100; i++ {
		q := fmt.Sprintf("SELECT %d FROM t WHERE a = ?", i)
		want := fmt.Sprintf("SELECT %d FROM t WHERE a = $1", i)
		if got := pg.q(q); got != want {
			t.Fatalf("q(%q) = %q, want %q", q, got, want)
		}
		if got := pg.q(q); got != want {
			t.Fatalf("second q(%q) = %q, want %q", q, got, want)
		}
	}
	n := 0
	pg.rebound.Range(func(_, _ any) bool { n++; return true })
	if n != maxRebound {
		t.Errorf("cache holds %d queries, want its bound %d", n, maxRebound)
	}
	long := "SELECT 1 FROM t WHERE a IN (" + strings.Repeat("?,", maxReboundArgs) + "?)"
	fresh := &DB{dialect: Postgres}
	if got := fresh.q(long); !strings.HasSuffix(got, fmt.Sprintf("$%d)", maxReboundArgs+1)) {
		t.Errorf("long query rewritten wrong: …%s", got[len(got)-20:])
	}
	if _, kept := fresh.rebound.Load(long); kept {
		t.Error("a batch statement of more than maxReboundArgs placeholders was kept")
	}
	lite := &DB{dialect: SQLite}
	if got := lite.q("a = ?"); got != "a = ?" {
		t.Errorf("SQLite query rewritten: %q", got)
	}
}
