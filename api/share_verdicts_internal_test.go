package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
)

// The verdict cache holds at most its size: expired entries go first,
// then the oldest.
func TestVerdictCacheIsBounded(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	c := newVerdictCache(func() time.Time { return now }, time.Minute, 3)
	put := func(k string) { c.put(k, cachedVerdict{verdict: badges.Valid, at: now}) }
	put("a")
	now = now.Add(30 * time.Second)
	put("b")
	put("c")
	put("d") // full: a is the oldest
	if _, ok := c.get("a"); ok || len(c.m) != 3 {
		t.Fatalf("after d: %v", c.m)
	}
	now = now.Add(61 * time.Second) // b, c, d expired
	put("e")
	if len(c.m) != 1 {
		t.Fatalf("expired entries kept: %v", c.m)
	}
	if v, ok := c.get("e"); !ok || !v.at.Equal(now) {
		t.Fatalf("e: %v %v", v, ok)
	}
	for i := range 100 {
		put(fmt.Sprint(i))
	}
	if len(c.m) != 3 {
		t.Fatalf("%d entries in a cache of 3", len(c.m))
	}
	now = now.Add(time.Minute)
	if _, ok := c.get("99"); ok {
		t.Fatal("an entry a minute old is still answered")
	}
}
