package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/insigne/insigne/badges"
)

// A share page verifies the credentials it shows, which for an imported
// one means fetching its issuer's profile, keys and status list: a link
// posted on a social network would make Insigne fetch them on every view.
// The verdict is kept a short while instead, per credential and the
// status Insigne holds for it, so that a revocation here shows at once
// and one at the issuer within shareVerdictTTL.
const (
	shareVerdictTTL = time.Minute
	// shareVerdictMax bounds the cache (about 150 bytes an entry).
	shareVerdictMax = 4096
)

type cachedVerdict struct {
	verdict badges.Verdict
	at      time.Time // when it was verified
}

// verdictCache is a small time-bounded map of verdicts. It lives in the
// Server: each node keeps its own, which only costs a verification.
type verdictCache struct {
	now func() time.Time
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]cachedVerdict
}

func newVerdictCache(now func() time.Time, ttl time.Duration, max int) *verdictCache {
	return &verdictCache{now: now, ttl: ttl, max: max, m: map[string]cachedVerdict{}}
}

// verdictKey names a credential as shown: its content and the status
// Insigne holds for it ("" when none, or for an imported credential).
func verdictKey(status string, payload []byte) string {
	sum := sha256.Sum256(payload)
	return status + "\x00" + hex.EncodeToString(sum[:])
}

func (c *verdictCache) get(key string) (cachedVerdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if ok && c.now().Sub(v.at) >= c.ttl {
		delete(c.m, key)
		return cachedVerdict{}, false
	}
	return v, ok
}

func (c *verdictCache) put(key string, v cachedVerdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		c.evict()
	}
	c.m[key] = v
}

// evict drops the expired entries or, when none is, the oldest one.
func (c *verdictCache) evict() {
	now := c.now()
	oldest, first := "", true
	var at time.Time
	for k, v := range c.m {
		if now.Sub(v.at) >= c.ttl {
			delete(c.m, k)
			continue
		}
		if first || v.at.Before(at) {
			oldest, at, first = k, v.at, false
		}
	}
	if len(c.m) >= c.max {
		delete(c.m, oldest)
	}
}

// sharedVerdict verifies a credential shown on a share page, or answers
// the verdict found less than shareVerdictTTL ago; ok is false when it
// could not be verified (nothing is kept then).
func (s *Server) sharedVerdict(ctx context.Context, status string, payload []byte) (cachedVerdict, bool) {
	key := verdictKey(status, payload)
	if v, ok := s.shareVerdicts.get(key); ok {
		return v, true
	}
	rep, err := s.verifier.Verify(ctx, payload, badges.Options{})
	if err != nil {
		return cachedVerdict{}, false
	}
	v := cachedVerdict{verdict: rep.Verdict, at: s.shareVerdicts.now()}
	s.shareVerdicts.put(key, v)
	return v, true
}
