package badges

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// listVerdictTTL is how long a status list document, once its proof was
// checked, is trusted again when the same bytes come back. An issuer's
// list changes only when one of its credentials changes state, and then
// its bytes change; what this delays is only the effect of the list's
// signing key being withdrawn, by at most this long.
const listVerdictTTL = time.Minute

// maxListVerdicts bounds the cache: one entry per version of a list seen
// in the last minute.
const maxListVerdicts = 4096

// listVerdicts remembers the status lists whose proof held, by the SHA-256
// of the list's bytes. Failures are not kept: they may come from a key
// document that could not be fetched this time. Every verification of an
// issuer's credentials reads the same list, and checking its proof is a
// second canonicalization and a key resolution per verification (about a
// third of a verification's CPU, docs/performance.md).
type listVerdicts struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]time.Time // trusted until
}

// listFailure says why the status list (body, parsed as list) cannot be
// trusted, or "" if checkEmbeddedProof finds no failure in it (its
// warnings, such as a key nothing ties to the issuer, do not refuse a
// list; that rule is checkEmbeddedProof's, the cache only remembers it).
func (v *Verifier) listFailure(ctx context.Context, body []byte, list map[string]any) string {
	key := sha256.Sum256(body)
	now := time.Now()
	v.lists.mu.Lock()
	until, ok := v.lists.m[key]
	v.lists.mu.Unlock()
	if ok && now.Before(until) {
		return ""
	}
	lr := &Report{}
	if _, ok := list["proof"]; ok {
		v.checkEmbeddedProof(ctx, lr, list, issuerOf(list))
	} else {
		lr.add("proof", false, "the status list is not signed")
	}
	if c, bad := lr.Failed(); bad {
		return c.Message
	}
	v.lists.mu.Lock()
	if len(v.lists.m) >= maxListVerdicts {
		clear(v.lists.m)
	}
	v.lists.m[key] = now.Add(listVerdictTTL)
	v.lists.mu.Unlock()
	return ""
}
