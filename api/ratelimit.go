package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimit is a token bucket: Rate requests a second on average, Burst
// at once. A zero Rate turns the limit off.
type RateLimit struct {
	Rate  float64
	Burst int
}

// RateLimits limit each client address. Public applies to what anyone may
// read or post without signing in (documents, credentials, status lists,
// verification, CASE, OAuth registration); SignIn to sign-in attempts and
// to every request whose credentials are refused (401), so that passwords,
// links, tokens and client secrets cannot be guessed at speed.
type RateLimits struct {
	Public RateLimit
	SignIn RateLimit
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed; from anyone else the header is ignored (a client could
	// otherwise pick its own address, and its own bucket).
	TrustedProxies []netip.Prefix
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// maxBuckets bounds the memory the limiter uses; past it, idle buckets
// are dropped and, if none is idle, new clients share one bucket.
const maxBuckets = 100_000

type bucket struct {
	tokens float64
	last   time.Time
}

type limiter struct {
	rate    RateLimit
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

func newLimiter(rl RateLimit, now func() time.Time) *limiter {
	if rl.Rate <= 0 {
		return nil
	}
	if rl.Burst < 1 {
		rl.Burst = 1
	}
	return &limiter{rate: rl, now: now, buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket. When none is left it returns
// false and how long until one is.
func (l *limiter) take(key string) (bool, time.Duration) {
	return l.spend(key, 1)
}

// peek tells whether key has a token left, spending nothing.
func (l *limiter) peek(key string) (bool, time.Duration) {
	return l.spend(key, 0)
}

func (l *limiter) spend(key string, n float64) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.evict(now)
		}
		if len(l.buckets) >= maxBuckets {
			key = "overflow"
			b = l.buckets[key]
		}
		if b == nil {
			b = &bucket{tokens: float64(l.rate.Burst), last: now}
			l.buckets[key] = b
		}
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(l.rate.Burst), b.tokens+el*l.rate.Rate)
	}
	b.last = now
	if b.tokens >= math.Max(n, 1) {
		b.tokens -= n
		return true, 0
	}
	wait := time.Duration((math.Max(n, 1) - b.tokens) / l.rate.Rate * float64(time.Second))
	return false, wait
}

// evict drops the buckets that have refilled completely: forgetting them
// changes nothing.
func (l *limiter) evict(now time.Time) {
	full := time.Duration(float64(l.rate.Burst) / l.rate.Rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
}

type rateLimiter struct {
	public, signIn *limiter
	trusted        []netip.Prefix
}

func newRateLimiter(c RateLimits) *rateLimiter {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	rl := &rateLimiter{public: newLimiter(c.Public, now), signIn: newLimiter(c.SignIn, now), trusted: c.TrustedProxies}
	if rl.public == nil && rl.signIn == nil {
		return nil
	}
	return rl
}

// clientKey names the client a request comes from: its address, or the
// one a trusted proxy reports; an IPv6 client by its /64, which one
// machine usually holds whole. Empty for requests made in process.
func (rl *rateLimiter) clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if rl.isTrusted(addr) {
		// The rightmost address no trusted proxy added is the client.
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = a.Unmap()
			if !rl.isTrusted(addr) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (rl *rateLimiter) isTrusted(a netip.Addr) bool {
	for _, p := range rl.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// isSignIn tells the routes where a secret is presented to get in.
func isSignIn(r *http.Request) bool {
	switch r.URL.Path {
	case "/signin":
		return r.Method == http.MethodPost
	case "/signin/link", "/auth/oidc/callback", obToken, obRevoke:
		return true
	}
	return false
}

// isPublic tells the routes anyone may use without signing in, apart from
// the probes a load balancer polls.
func isPublic(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/readyz" || p == "/metrics":
		return false
	case p == "/api/v1/verify" || p == "/api/v1/openapi.json":
		return true
	case strings.HasPrefix(p, "/api/"), strings.HasPrefix(p, "/xapi/"):
		// The JSON API and the LRS are for authenticated callers.
		return false
	}
	return true
}

// rateLimit answers 429 with Retry-After to a client past its budget.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	rl := s.limits
	if rl == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := rl.clientKey(r)
		if key == "" {
			// In process (the verifier reading this service's own
			// documents): not a client.
			next.ServeHTTP(w, r)
			return
		}
		if rl.signIn != nil {
			// A client whose sign-in budget is spent may still read public
			// documents but presents no more secrets.
			presents := isSignIn(r) || r.Header.Get("Authorization") != ""
			if presents {
				if ok, wait := rl.signIn.peek(key); !ok {
					tooMany(w, wait, "too many sign-in attempts from your address")
					return
				}
			}
			if isSignIn(r) {
				rl.signIn.take(key)
			}
		}
		if rl.public != nil && isPublic(r) {
			if ok, wait := rl.public.take(key); !ok {
				tooMany(w, wait, "too many requests from your address")
				return
			}
		}
		if rl.signIn == nil || isSignIn(r) {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized {
			rl.signIn.take(key)
		}
	})
}

func tooMany(w http.ResponseWriter, wait time.Duration, msg string) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limited", msg+"; try again in "+strconv.Itoa(secs)+" s", "")
}
