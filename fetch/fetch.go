// Package fetch is the one way Insigne makes outbound HTTP requests: to
// resolve a remote key, read a status list, or import a hosted badge.
//
// Every request has a timeout, a response size cap and a redirect limit, and
// by default refuses to connect to loopback, private, link-local and other
// non-public addresses. The check runs on the address actually dialled, after
// DNS resolution, so a host name that resolves to 127.0.0.1 (or changes its
// answer between two lookups) is refused too.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Options configure a Client. The zero value is safe.
type Options struct {
	Timeout      time.Duration // whole request; default 10 s
	MaxBytes     int64         // response body cap; default 2 MiB
	MaxRedirects int           // default 5
	// AllowPrivate lets requests reach non-public addresses: for tests, and
	// for deployments whose issuers live on an internal network.
	AllowPrivate bool
	// Allow lists the non-public networks that may be reached while the
	// rest stay refused (an issuer on an internal network, a test server).
	Allow     []netip.Prefix
	UserAgent string
}

// Client fetches documents. It is safe for concurrent use.
type Client struct {
	http *http.Client
	opts Options
}

// Errors callers may test for.
var (
	ErrForbiddenAddress = errors.New("fetch: address not allowed")
	ErrTooLarge         = errors.New("fetch: response too large")
	ErrStatus           = errors.New("fetch: unexpected HTTP status")
)

// New returns a client with the options' limits.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 2 << 20
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = 5
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Insigne (+https://github.com/insigne/insigne)"
	}
	dialer := &net.Dialer{Timeout: opts.Timeout}
	if !opts.AllowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			return refusePrivate(address, opts.Allow)
		}
	}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		Proxy:                 nil, // a proxy would hide the address we must check
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          32,
		IdleConnTimeout:       30 * time.Second,
	}
	c := &Client{opts: opts}
	c.http = &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= opts.MaxRedirects {
				return fmt.Errorf("fetch: more than %d redirects", opts.MaxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("fetch: redirect to %s URL refused", req.URL.Scheme)
			}
			return nil
		},
	}
	return c
}

// HTTP returns the guarded client itself, for protocols that need more
// than a GET (an OpenID Connect token request): the address checks,
// timeout and redirect limit apply; the caller caps what it reads.
func (c *Client) HTTP() *http.Client { return c.http }

// Response is a fetched document.
type Response struct {
	URL         string // after redirects
	Status      int
	ContentType string
	Body        []byte
}

// Get fetches u with the given Accept header. Only http and https URLs are
// fetched. A status outside 2xx is returned as a Response together with an
// error wrapping ErrStatus, so callers can tell 404 and 410 apart.
func (c *Client) Get(ctx context.Context, u, accept string) (*Response, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("fetch: %q is not a URL: %w", u, err)
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return nil, fmt.Errorf("fetch: only http and https URLs are fetched, not %q", u)
	}
	if parsed.Host == "" {
		return nil, fmt.Errorf("fetch: %q has no host", u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, parsed.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.opts.MaxBytes {
		return nil, fmt.Errorf("%w: %s announces %d bytes, the limit is %d", ErrTooLarge, u, resp.ContentLength, c.opts.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: reading body: %w", u, err)
	}
	if int64(len(body)) > c.opts.MaxBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, u, c.opts.MaxBytes)
	}
	r := &Response{URL: resp.Request.URL.String(), Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return r, fmt.Errorf("%w: %s answered %d", ErrStatus, u, resp.StatusCode)
	}
	return r, nil
}

// refusePrivate is a net.Dialer Control function: it sees the resolved
// address that is about to be dialled.
func refusePrivate(address string, allow []netip.Prefix) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrForbiddenAddress, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrForbiddenAddress, address)
	}
	if Public(ip) {
		return nil
	}
	for _, p := range allow {
		if p.Contains(ip.Unmap()) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not a public address", ErrForbiddenAddress, ip)
}

// Public reports whether ip is a globally routable unicast address.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Ranges the netip predicates do not cover: carrier-grade NAT, benchmarking,
// documentation, IPv4 "this network", reserved, NAT64, 6to4, Teredo...
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("100::/64"),
}
