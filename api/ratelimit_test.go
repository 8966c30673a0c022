package api

import (
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// FuzzClientKey: any RemoteAddr and X-Forwarded-For give a key without a
// panic; a forwarded address is believed only from a trusted proxy.
func FuzzClientKey(f *testing.F) {
	f.Add("127.0.0.1:5000", "203.0.113.9, 10.0.0.1")
	f.Add("[::1]:443", "2001:db8::1")
	f.Add("198.51.100.1:1", "127.0.0.1")
	f.Add("garbage", ",,,")
	rl := newRateLimiter(RateLimits{Public: RateLimit{Rate: 1, Burst: 1}, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		key := rl.clientKey(r)
		if remote != "" && key == "" {
			t.Fatalf("no key for RemoteAddr %q", remote)
		}
		if ap, err := netip.ParseAddrPort(remote); err == nil && !rl.isTrusted(ap.Addr().Unmap()) {
			// An untrusted peer is counted as itself, whatever it claims.
			alone := rl.clientKey(&http.Request{RemoteAddr: remote})
			if key != alone {
				t.Fatalf("untrusted %q with X-Forwarded-For %q counted as %q, not %q", remote, xff, key, alone)
			}
		}
	})
}

// The limiter forgets only buckets that have refilled, and keeps working
// when full.
func TestLimiterBounded(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(RateLimit{Rate: 1, Burst: 2}, func() time.Time { return now })
	for i := range maxBuckets + 10 {
		l.take(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
	}
	if len(l.buckets) > maxBuckets+1 {
		t.Fatalf("%d buckets, bound %d", len(l.buckets), maxBuckets)
	}
	now = now.Add(3 * time.Second)
	if ok, _ := l.take("192.0.2.1"); !ok {
		t.Fatal("a new client refused once old buckets refilled")
	}
	if len(l.buckets) > 2 {
		t.Fatalf("%d buckets kept after eviction", len(l.buckets))
	}
}
