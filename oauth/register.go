package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/internal/jsonfield"
)

// Limits on registration metadata: generous for any real client, small
// enough that nobody stores megabytes through the open registration
// endpoint.
const (
	// MaxRegistrationBody caps the registration request body.
	MaxRegistrationBody = 64 << 10
	maxURILen           = 2048
	maxNameLen          = 200
	maxRedirectURIs     = 10
	maxScopeLen         = 1024
)

// registration is the RFC 7591 request as sent. Members Insigne does not
// understand (contacts, jwks, localized names…) are ignored, as RFC 7591
// §2 says.
type registration struct {
	ClientName              *string   `json:"client_name"`
	ClientURI               *string   `json:"client_uri"`
	LogoURI                 *string   `json:"logo_uri"`
	TOSURI                  *string   `json:"tos_uri"`
	PolicyURI               *string   `json:"policy_uri"`
	SoftwareID              *string   `json:"software_id"`
	SoftwareVersion         *string   `json:"software_version"`
	RedirectURIs            *[]string `json:"redirect_uris"`
	TokenEndpointAuthMethod *string   `json:"token_endpoint_auth_method"`
	GrantTypes              *[]string `json:"grant_types"`
	ResponseTypes           *[]string `json:"response_types"`
	Scope                   *string   `json:"scope"`
}

// DecodeRegistration reads and checks an RFC 7591 client registration
// request. It returns the metadata to register, defaults filled in
// (token_endpoint_auth_method client_secret_basic, grant_types
// [authorization_code], response_types [code]), or an *Error with code
// invalid_redirect_uri or invalid_client_metadata that names the
// problem. allowLoopbackHTTP admits http:// URIs on loopback hosts.
func DecodeRegistration(body []byte, allowLoopbackHTTP bool) (Metadata, error) {
	var r registration
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&r); err != nil {
		return Metadata{}, oerr(ErrCodeInvalidClientMetadata, "the body is not a JSON object of client metadata: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Metadata{}, oerr(ErrCodeInvalidClientMetadata, "the body holds more than one JSON value")
	}
	var m Metadata
	var err error
	text := func(field string, v *string, required bool, max int) string {
		if err != nil {
			return ""
		}
		if v == nil || *v == "" {
			if required {
				err = oerr(ErrCodeInvalidClientMetadata, "%s is required", field)
			}
			return ""
		}
		if e := checkText(*v, max); e != "" {
			err = oerr(ErrCodeInvalidClientMetadata, "%s %s", field, e)
		}
		return *v
	}
	uri := func(field string, v *string, required bool) string {
		s := text(field, v, required, maxURILen)
		if err == nil && s != "" {
			if e := checkURI(s, allowLoopbackHTTP); e != "" {
				err = oerr(ErrCodeInvalidClientMetadata, "%s %s", field, e)
			}
		}
		return s
	}
	m.Name = text("client_name", r.ClientName, true, maxNameLen)
	m.URI = uri("client_uri", r.ClientURI, true)
	m.LogoURI = uri("logo_uri", r.LogoURI, false)
	m.TOSURI = uri("tos_uri", r.TOSURI, false)
	m.PolicyURI = uri("policy_uri", r.PolicyURI, false)
	m.SoftwareID = text("software_id", r.SoftwareID, false, maxNameLen)
	m.SoftwareVersion = text("software_version", r.SoftwareVersion, false, maxNameLen)
	if err != nil {
		return Metadata{}, err
	}

	if r.RedirectURIs == nil || len(*r.RedirectURIs) == 0 {
		return Metadata{}, oerr(ErrCodeInvalidRedirectURI, "redirect_uris is required: at least one redirection URI")
	}
	if len(*r.RedirectURIs) > maxRedirectURIs {
		return Metadata{}, oerr(ErrCodeInvalidRedirectURI, "redirect_uris holds %d URIs; at most %d are accepted", len(*r.RedirectURIs), maxRedirectURIs)
	}
	for i, u := range *r.RedirectURIs {
		if e := checkRedirectURI(u, allowLoopbackHTTP); e != "" {
			return Metadata{}, oerr(ErrCodeInvalidRedirectURI, "redirect_uris[%d] %s", i, e)
		}
		if !slices.Contains(m.RedirectURIs, u) {
			m.RedirectURIs = append(m.RedirectURIs, u)
		}
	}

	m.TokenEndpointAuthMethod = "client_secret_basic"
	if r.TokenEndpointAuthMethod != nil && *r.TokenEndpointAuthMethod != "client_secret_basic" {
		return Metadata{}, oerr(ErrCodeInvalidClientMetadata, "token_endpoint_auth_method %q is not supported; use client_secret_basic", clip(*r.TokenEndpointAuthMethod))
	}

	m.GrantTypes = []string{"authorization_code"}
	if r.GrantTypes != nil {
		m.GrantTypes = nil
		for _, g := range *r.GrantTypes {
			if g != "authorization_code" && g != "refresh_token" {
				return Metadata{}, oerr(ErrCodeInvalidClientMetadata, "grant_types: %q is not supported; use authorization_code and refresh_token", clip(g))
			}
			if !slices.Contains(m.GrantTypes, g) {
				m.GrantTypes = append(m.GrantTypes, g)
			}
		}
		if !slices.Contains(m.GrantTypes, "authorization_code") {
			return Metadata{}, oerr(ErrCodeInvalidClientMetadata, "grant_types must include authorization_code, the only way to obtain tokens here")
		}
	}
	m.ResponseTypes = []string{"code"}
	if r.ResponseTypes != nil {
		for _, rt := range *r.ResponseTypes {
			if rt != "code" {
				return Metadata{}, oerr(ErrCodeInvalidClientMetadata, "response_types: %q is not supported; use code", clip(rt))
			}
		}
	}

	scope := text("scope", r.Scope, true, maxScopeLen)
	if err != nil {
		return Metadata{}, err
	}
	scopes, e := parseScope(scope)
	if e != "" {
		return Metadata{}, oerr(ErrCodeInvalidClientMetadata, "scope %s", e)
	}
	m.Scope = strings.Join(scopes, " ")
	return m, nil
}

// Register registers a client from an RFC 7591 request body. It returns
// the client as stored and its secret, shown this once.
func (s *Service) Register(ctx context.Context, body []byte) (Client, string, error) {
	m, err := DecodeRegistration(body, s.loopback)
	if err != nil {
		return Client{}, "", err
	}
	secret, hash := auth.NewToken(clientSecretPrefix)
	c := Client{ID: rand.Text(), SecretHash: hash, Metadata: m, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if err := s.st.CreateClient(ctx, c); err != nil {
		return Client{}, "", fmt.Errorf("oauth: register client %q: %w", m.Name, err)
	}
	return c, secret, nil
}

// parseScope splits a space-separated scope (RFC 6749 §3.3) into known,
// distinct scopes, in the order given. It returns a description of the
// problem, or "".
func parseScope(scope string) ([]string, string) {
	if len(scope) > maxScopeLen {
		return nil, fmt.Sprintf("is longer than %d bytes", maxScopeLen)
	}
	var out []string
	for _, sc := range strings.Split(scope, " ") {
		if sc == "" {
			continue
		}
		if !knownScope(sc) {
			return nil, fmt.Sprintf("names %q, which is not a scope of this service (see the scopes of the service description document)", clip(sc))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, "is empty"
	}
	return out, ""
}

// checkText refuses invalid UTF-8, control characters and overlong text.
func checkText(s string, max int) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("is longer than %d characters", max)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "holds control characters"
	}
	return ""
}

// checkURI accepts absolute https URLs with a host and no user
// information, and http URLs on loopback hosts when allowed.
func checkURI(s string, allowLoopbackHTTP bool) string {
	if len(s) > maxURILen {
		return fmt.Sprintf("is longer than %d bytes", maxURILen)
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "holds spaces or control characters"
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Sprintf("%q is not an absolute URL", clip(s))
	}
	if u.User != nil {
		return "must not carry user information"
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowLoopbackHTTP && isLoopback(u.Hostname()):
	default:
		return fmt.Sprintf("%q must be an https URL", clip(s))
	}
	return ""
}

// checkRedirectURI adds RFC 6749 §3.1.2's rule: no fragment.
func checkRedirectURI(s string, allowLoopbackHTTP bool) string {
	if e := checkURI(s, allowLoopbackHTTP); e != "" {
		return e
	}
	if strings.Contains(s, "#") {
		return "must not hold a fragment (#…)"
	}
	return ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clip shortens a value quoted back in an error.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strings.ToValidUTF8(s, "�")
}

// jsonProblem says what is wrong with a JSON body, naming the member
// when the JSON decoder knows it.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if f := jsonfield.Path(te.Field); f != "" {
			return fmt.Sprintf("%s has the wrong type (a JSON %s)", f, te.Value)
		}
		return "want a JSON object, got a JSON " + te.Value
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	return "malformed JSON"
}
