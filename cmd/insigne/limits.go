package main

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/insigne/insigne/api"
)

// rateLimits reads INSIGNE_RATE_PUBLIC and INSIGNE_RATE_SIGNIN ("RATE,BURST":
// requests a second per client address and the burst allowed; "0" turns
// the limit off) and INSIGNE_TRUSTED_PROXIES (comma-separated addresses or
// prefixes whose X-Forwarded-For is believed).
func rateLimits(e env) (api.RateLimits, error) {
	var rl api.RateLimits
	for _, v := range []struct {
		name string
		def  api.RateLimit
		to   *api.RateLimit
	}{
		// Public reads: generous, a school behind one NAT address is many
		// people. Sign-in: 10 attempts, then one every 6 seconds.
		{"INSIGNE_RATE_PUBLIC", api.RateLimit{Rate: 50, Burst: 200}, &rl.Public},
		{"INSIGNE_RATE_SIGNIN", api.RateLimit{Rate: 1.0 / 6, Burst: 10}, &rl.SignIn},
	} {
		*v.to = v.def
		s := strings.TrimSpace(e.getenv(v.name))
		if s == "" {
			continue
		}
		if s == "0" || s == "off" {
			*v.to = api.RateLimit{}
			continue
		}
		rate, burst, _ := strings.Cut(s, ",")
		r, err1 := strconv.ParseFloat(strings.TrimSpace(rate), 64)
		b, err2 := strconv.Atoi(strings.TrimSpace(burst))
		if err1 != nil || err2 != nil || r <= 0 || b < 1 {
			return rl, usageError{v.name + ` must be "RATE,BURST" (requests a second per client and burst, like 50,200) or 0 for no limit`}
		}
		*v.to = api.RateLimit{Rate: r, Burst: b}
	}
	for _, s := range strings.Split(e.getenv("INSIGNE_TRUSTED_PROXIES"), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return rl, usageError{"INSIGNE_TRUSTED_PROXIES: " + s + " is neither an address nor a prefix like 10.0.0.0/8"}
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		rl.TrustedProxies = append(rl.TrustedProxies, p)
	}
	return rl, nil
}
