package auth

import (
	"sync"
	"time"
)

// DefaultSessionCacheTTL is how long serve keeps a session's principal in
// memory once read (INSIGNE_SESSION_CACHE).
const DefaultSessionCacheTTL = 5 * time.Second

// maxCachedSessions bounds the cache; past it, stale entries go, and if
// none is stale the whole cache is dropped (it refills from the store).
const maxCachedSessions = 100_000

// sessionCache remembers, for a few seconds, the principal of the sessions
// this node has just read, so that the requests of one page (the page, its
// API calls) read the session once. What this node changes (sign-out,
// memberships, a person deleted or erased through it) drops the entries
// once the store has changed, and no read begun before wins over it;
// what another node changes is seen here within the TTL. Every
// signed-in request read the session, its user and memberships before
// this: about a fifth of a backpack listing's CPU (docs/performance.md).
type sessionCache struct {
	ttl time.Duration

	mu sync.Mutex
	m  map[string]cachedSession // by session id hash
	// gen counts drops. A request reads it before it reads the store, and
	// its put is ignored if anything was dropped since: otherwise a read
	// that began before a sign-out could store the old principal after it.
	gen uint64
}

type cachedSession struct {
	p       *Principal // shared by the requests that find it: never modified
	csrf    string
	expires time.Time // the session's own end
	until   time.Time // trusted until then without asking the store
}

func newSessionCache(ttl time.Duration) *sessionCache {
	if ttl <= 0 {
		return nil
	}
	return &sessionCache{ttl: ttl, m: make(map[string]cachedSession)}
}

// get returns the entry of hash if it is still fresh and the session has
// not ended.
func (c *sessionCache) get(hash string, now time.Time) (cachedSession, bool) {
	if c == nil {
		return cachedSession{}, false
	}
	c.mu.Lock()
	e, ok := c.m[hash]
	c.mu.Unlock()
	if !ok || !now.Before(e.until) || !now.Before(e.expires) {
		return cachedSession{}, false
	}
	return e, true
}

// generation returns the count of drops so far, for put.
func (c *sessionCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores what a request read from the store, unless something was
// dropped since it took gen (from generation, before reading).
func (c *sessionCache) put(hash string, p *Principal, csrf string, expires, now time.Time, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedSessions {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCachedSessions {
			clear(c.m)
		}
	}
	c.m[hash] = cachedSession{p: p, csrf: csrf, expires: expires, until: now.Add(c.ttl)}
}

func (c *sessionCache) drop(hash string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, hash)
	c.gen++
	c.mu.Unlock()
}

// dropUser forgets every session of userID. It walks the whole cache,
// which only holds the sessions used in the last few seconds, and runs
// only when an account or its rights change.
func (c *sessionCache) dropUser(userID string) {
	if c == nil || userID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if e.p.UserID == userID {
			delete(c.m, k)
		}
	}
}
