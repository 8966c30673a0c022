package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/oauth"
)

// OAuthInfo is what the Open Badges service description document says
// about this service besides its endpoints.
type OAuthInfo struct {
	// Title names the service (default "Insigne").
	Title string
	// PrivacyPolicyURL and TermsOfServiceURL are required by the
	// specification; they default to BaseURL.
	PrivacyPolicyURL, TermsOfServiceURL string
	// ImageURL is the service's logo (optional).
	ImageURL string
}

// The OAuth endpoints of the Open Badges API, under /ims/ob/v3p0 like the
// resource endpoints, so that one base URL holds the whole API.
const (
	obPrefix       = "/ims/ob/v3p0"
	obDiscovery    = obPrefix + "/discovery"
	obRegister     = obPrefix + "/register"
	obAuthorize    = obPrefix + "/authorize"
	obToken        = obPrefix + "/token"
	obRevoke       = obPrefix + "/revoke"
	meOAuthGrants  = "/api/v1/me/oauth-grants"
	nextCookie     = "insigne_next"
	maxOAuthForm   = 64 << 10
	oauthFormValue = "application/x-www-form-urlencoded"
)

// obOAuth is the state of the OAuth handlers.
type obOAuth struct {
	svc *oauth.Service
	sdd []byte // the service description document, built once
}

// oauthRoutes serves the OAuth 2.0 authorization server of the Open
// Badges API and the learner's list of authorized applications. The
// protocol endpoints answer as their RFCs say ({"error",
// "error_description"}), not with the JSON API's error shape, because
// OAuth clients parse those.
func (s *Server) oauthRoutes(r *mux.Router, c Config) {
	s.ob = &obOAuth{svc: c.OAuth, sdd: serviceDescription(c.BaseURL, c.OAuthInfo)}
	r.HandleFunc(obDiscovery, s.obDiscovery).Methods(http.MethodGet)
	r.HandleFunc(obRegister, s.obRegister).Methods(http.MethodPost)
	r.HandleFunc(obAuthorize, s.obAuthorize).Methods(http.MethodGet)
	r.HandleFunc(obAuthorize, s.obConsent).Methods(http.MethodPost)
	r.HandleFunc(obToken, s.obToken).Methods(http.MethodPost)
	r.HandleFunc(obRevoke, s.obRevoke).Methods(http.MethodPost)
	r.HandleFunc(meOAuthGrants, s.authed(s.listOAuthGrants)).Methods(http.MethodGet)
	r.HandleFunc(meOAuthGrants+"/{id}", s.authed(s.revokeOAuthGrant)).Methods(http.MethodDelete)
}

// serviceDescription is the Open Badges 3.0 Service Description Document
// (OB 3.0 §6.3, §7.1.1.1): an OpenAPI 3.0 document whose info carries the
// x-imssf extensions and whose OAuth2ACG security scheme names the
// registration, authorization and token endpoints and the scopes.
func serviceDescription(base string, info OAuthInfo) []byte {
	base = strings.TrimSuffix(base, "/")
	if info.Title == "" {
		info.Title = "Insigne"
	}
	if info.PrivacyPolicyURL == "" {
		info.PrivacyPolicyURL = base + "/"
	}
	if info.TermsOfServiceURL == "" {
		info.TermsOfServiceURL = base + "/"
	}
	inf := map[string]any{
		"title":                    info.Title,
		"description":              "Open Badges 3.0 API of " + info.Title,
		"version":                  "3.0",
		"termsOfService":           info.TermsOfServiceURL,
		"x-imssf-privacyPolicyUrl": info.PrivacyPolicyURL,
	}
	if info.ImageURL != "" {
		inf["x-imssf-image"] = info.ImageURL
	}
	scopes := map[string]string{}
	for _, sc := range oauth.Scopes {
		if sc.Scope != oauth.ScopeOfflineAccess {
			scopes[sc.Scope] = sc.English
		}
	}
	op := func(id, summary, scope string) map[string]any {
		return map[string]any{
			"operationId": id, "summary": summary, "tags": []string{"OpenBadgeCredentials"},
			"security": []any{map[string]any{"OAuth2ACG": []string{scope}}},
			"responses": map[string]any{
				"200":     map[string]any{"description": "Success"},
				"default": map[string]any{"description": "The request was invalid or cannot be served (Imsx_StatusInfo)."},
			},
		}
	}
	doc := map[string]any{
		"openapi": "3.0.1",
		"info":    inf,
		"servers": []any{map[string]any{"url": base + obPrefix, "description": info.Title}},
		"tags":    []any{map[string]any{"name": "OpenBadgeCredentials"}, map[string]any{"name": "Discovery"}},
		"paths": map[string]any{
			"/credentials": map[string]any{
				"get":  op("getCredentials", "Get issued OpenBadgeCredentials", oauth.ScopeCredentialRead),
				"post": op("upsertCredential", "Create or replace an OpenBadgeCredential", oauth.ScopeCredentialUpsert),
			},
			"/profile": map[string]any{
				"get": op("getProfile", "Fetch the profile", oauth.ScopeProfileRead),
				"put": op("putProfile", "Update the profile", oauth.ScopeProfileUpdate),
			},
			"/discovery": map[string]any{"get": map[string]any{
				"operationId": "getServiceDescription", "summary": "The service description document", "tags": []string{"Discovery"},
				"responses": map[string]any{"200": map[string]any{"description": "The service description document"}},
			}},
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{"OAuth2ACG": map[string]any{
				"type":                    "oauth2",
				"description":             "OAuth 2.0 Authorization Code Grant authorization, with PKCE (S256)",
				"x-imssf-name":            info.Title,
				"x-imssf-registrationUrl": base + obRegister,
				"flows": map[string]any{"authorizationCode": map[string]any{
					"authorizationUrl": base + obAuthorize,
					"tokenUrl":         base + obToken,
					"refreshUrl":       base + obToken,
					"scopes":           scopes,
				}},
			}},
			"schemas": map[string]any{},
		},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return b
}

func (s *Server) obDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeDoc(w, "application/json", http.StatusOK, s.ob.sdd)
}

// writeOAuthError answers an OAuth error as RFC 6749 §5.2 and RFC 7591
// §3.2.2 say; invalid_client is 401 with a Basic challenge.
func writeOAuthError(w http.ResponseWriter, e *oauth.Error) {
	status := http.StatusBadRequest
	if e.Code == oauth.ErrCodeInvalidClient {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="insigne", charset="UTF-8"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, map[string]string{"error": e.Code, "error_description": e.Description})
}

// oauthFail answers err: an *oauth.Error as OAuth says, anything else as
// a 500 that is logged.
func (s *Server) oauthFail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		writeOAuthError(w, oe)
		return
	}
	s.fail(w, r, err)
}

func (s *Server) obRegister(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeOAuthError(w, &oauth.Error{Code: oauth.ErrCodeInvalidClientMetadata, Description: "send the client metadata as JSON (Content-Type: application/json)"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, oauth.MaxRegistrationBody))
	if err != nil {
		writeOAuthError(w, &oauth.Error{Code: oauth.ErrCodeInvalidClientMetadata, Description: "the body could not be read, or is larger than 64 KiB"})
		return
	}
	c, secret, err := s.ob.svc.Register(r.Context(), body)
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	out := map[string]any{
		"client_id":                  c.ID,
		"client_secret":              secret,
		"client_id_issued_at":        c.CreatedAt.Unix(),
		"client_secret_expires_at":   0,
		"client_name":                c.Name,
		"client_uri":                 c.URI,
		"redirect_uris":              c.RedirectURIs,
		"token_endpoint_auth_method": c.TokenEndpointAuthMethod,
		"grant_types":                c.GrantTypes,
		"response_types":             c.ResponseTypes,
		"scope":                      c.Scope,
	}
	for k, v := range map[string]string{"logo_uri": c.LogoURI, "tos_uri": c.TOSURI, "policy_uri": c.PolicyURI,
		"software_id": c.SoftwareID, "software_version": c.SoftwareVersion} {
		if v != "" {
			out[k] = v
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusCreated, out)
}

// sessionOf returns the signed-in user of a browser request and the
// session's CSRF secret, or nil. Only a session cookie counts here: an
// API token cannot consent for a learner.
func (s *Server) sessionOf(r *http.Request) (*auth.Principal, string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, "", nil
	}
	p, csrf, err := s.auth.SessionPrincipal(r.Context(), c.Value)
	if errors.Is(err, auth.ErrUnauthenticated) {
		return nil, "", nil
	}
	return p, csrf, err
}

// obAuthorize checks an authorization request, sends an anonymous
// browser to sign in (and back here), then shows the consent page.
func (s *Server) obAuthorize(w http.ResponseWriter, r *http.Request) {
	req, err := s.ob.svc.Authorize(r.Context(), r.URL.Query())
	if err != nil {
		s.authorizeFail(w, r, err)
		return
	}
	p, csrf, err := s.sessionOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p == nil {
		// Back here after signing in, whichever way (password, link,
		// OpenID Connect): the path waits in a short-lived cookie.
		http.SetCookie(w, s.cookie(nextCookie, base64.RawURLEncoding.EncodeToString([]byte(r.URL.RequestURI())), 30*time.Minute))
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	s.renderConsent(w, r, http.StatusOK, p, csrf, req)
}

// afterSignIn is where a browser goes once signed in: back to the page
// that sent it to sign in (an authorization request), else home.
func (s *Server) afterSignIn(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(nextCookie)
	if err != nil {
		return "/"
	}
	http.SetCookie(w, s.cookie(nextCookie, "", -1))
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	next := string(b)
	// Only a path of this site: never an open redirect.
	if err != nil || !strings.HasPrefix(next, obAuthorize+"?") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// authorizeFail shows or redirects a refused authorization request.
func (s *Server) authorizeFail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *oauth.AuthorizeError
	if !errors.As(err, &ae) {
		s.fail(w, r, err)
		return
	}
	if u := ae.RedirectURL(); u != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusFound)
		return
	}
	pageHeaders(w)
	w.WriteHeader(http.StatusBadRequest)
	oauthErrorTmpl.Execute(w, map[string]string{"Code": ae.Code, "Description": ae.Description})
}

func pageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
}

const pageStyle = `<style>body{font-family:Marianne,Arial,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#161616;line-height:1.5}
h1{color:#000091;font-size:1.75rem}ul{padding-left:1.25rem}li{margin:.25rem 0}
.actions{display:flex;gap:1rem;flex-wrap:wrap;margin-top:2rem}
button{font-size:1rem;padding:.75rem 1.5rem;border:2px solid #000091;cursor:pointer}
.accept{background:#000091;color:#fff}.refuse{background:#fff;color:#000091}
button:focus-visible,a:focus-visible{outline:3px solid #0a76f6;outline-offset:2px}
.note{color:#3a3a3a;font-size:.95rem}code{word-break:break-all}</style>`

var oauthErrorTmpl = template.Must(template.New("oauth-error").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demande d'autorisation refusée – Insigne</title>` + pageStyle + `</head>
<body><main><h1>Cette demande d'autorisation n'est pas valable</h1>
<p role="alert">L'application qui vous a envoyé ici a fait une demande qu'Insigne ne peut pas accepter. Rien n'a été partagé.</p>
<p class="note">Détail pour ses développeurs (en anglais) : <code>{{.Code}}</code> – <span lang="en">{{.Description}}</span></p>
</main></body></html>`))

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Autoriser {{.Client}} – Insigne</title>` + pageStyle + `</head>
<body><main>
<h1>Autoriser « {{.Client}} » à accéder à votre sac à badges ?</h1>
<p>Vous êtes connecté en tant que <strong>{{.User}}</strong>.</p>
<p>L'application <strong>{{.Client}}</strong> (<a href="{{.ClientURI}}" rel="noopener noreferrer">{{.ClientHost}}</a>) demande à :</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<p>{{if .Lasting}}L'application gardera cet accès, même quand vous n'êtes pas connecté, jusqu'à ce que vous le retiriez depuis votre espace personnel.{{else}}Cet accès prendra fin au bout d'une heure ; vous pourrez aussi le retirer avant depuis votre espace personnel.{{end}}
Si vous acceptez, vous serez renvoyé vers <strong>{{.RedirectHost}}</strong>.</p>
<form method="post" action="/ims/ob/v3p0/authorize">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">
{{end}}<div class="actions">
<button type="submit" class="accept" name="decision" value="accept">Autoriser</button>
<button type="submit" class="refuse" name="decision" value="refuse">Refuser</button>
</div></form>
</main></body></html>`))

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, status int, p *auth.Principal, csrf string, req *oauth.Request) {
	if s.web != nil {
		s.consentHTML(w, r, status, p, csrf, req)
		return
	}
	var scopes []string
	for _, sc := range req.Scopes {
		for _, info := range oauth.Scopes {
			// offline_access changes nothing (see oauth.Scopes); what
			// lasts is said below the list, from the client's grant
			// types.
			if info.Scope == sc && sc != oauth.ScopeOfflineAccess {
				scopes = append(scopes, info.French)
			}
		}
	}
	user := p.Email
	if p.Name != "" && p.Email != "" {
		user = p.Name + " (" + p.Email + ")"
	} else if user == "" {
		user = p.Name
	}
	pageHeaders(w)
	w.WriteHeader(status)
	consentTmpl.Execute(w, map[string]any{
		"Client": req.Client.Name, "ClientURI": req.Client.URI, "ClientHost": hostOf(req.Client.URI),
		"RedirectHost": hostOf(req.Params.RedirectURI), "User": user, "Scopes": scopes,
		"CSRF": auth.CSRFToken(csrf), "Params": req.Params.Values(), "Lasting": slices.Contains(req.Client.GrantTypes, "refresh_token"),
	})
}

// obConsent takes the consent form: the request is checked again (the
// form came from the browser), then the user's answer goes back to the
// client.
func (s *Server) obConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxOAuthForm)
	if err := r.ParseForm(); err != nil {
		s.consentProblem(w, http.StatusBadRequest, "Le formulaire n'a pas pu être lu.")
		return
	}
	p, csrf, err := s.sessionOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p == nil {
		s.consentProblem(w, http.StatusUnauthorized, "Votre session a expiré : reprenez depuis l'application qui vous a envoyé ici.")
		return
	}
	if !auth.CheckCSRF(csrf, r.PostForm.Get("csrf_token")) {
		s.consentProblem(w, http.StatusForbidden, "Cette page a expiré ou ne vient pas d'Insigne : reprenez depuis l'application qui vous a envoyé ici.")
		return
	}
	req, err := s.ob.svc.Authorize(r.Context(), r.PostForm)
	if err != nil {
		s.authorizeFail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch r.PostForm.Get("decision") {
	case "accept":
		u, err := s.ob.svc.Approve(r.Context(), p.UserID, req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
	case "refuse":
		http.Redirect(w, r, req.DenyURL(), http.StatusSeeOther)
	default:
		s.consentProblem(w, http.StatusBadRequest, "Choisissez « Autoriser » ou « Refuser ».")
	}
}

var consentProblemTmpl = template.Must(template.New("consent-problem").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Autorisation impossible – Insigne</title>` + pageStyle + `</head>
<body><main><h1>Autorisation impossible</h1><p role="alert">{{.}}</p></main></body></html>`))

func (s *Server) consentProblem(w http.ResponseWriter, status int, msg string) {
	pageHeaders(w)
	w.WriteHeader(status)
	consentProblemTmpl.Execute(w, msg)
}

// oauthClient authenticates the client of a token or revocation request
// (client_secret_basic only) and parses the form.
func (s *Server) oauthClient(w http.ResponseWriter, r *http.Request) (oauth.Client, bool) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	id, secret, ok := r.BasicAuth()
	if !ok {
		writeOAuthError(w, &oauth.Error{Code: oauth.ErrCodeInvalidClient, Description: "authenticate the client with HTTP Basic (client_secret_basic)"})
		return oauth.Client{}, false
	}
	// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
	if v, err := url.QueryUnescape(id); err == nil {
		id = v
	}
	if v, err := url.QueryUnescape(secret); err == nil {
		secret = v
	}
	c, err := s.ob.svc.AuthenticateClient(r.Context(), id, secret)
	if err != nil {
		s.oauthFail(w, r, err)
		return oauth.Client{}, false
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != oauthFormValue {
		writeOAuthError(w, &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: "send the parameters form-encoded (Content-Type: application/x-www-form-urlencoded)"})
		return oauth.Client{}, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxOAuthForm)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: "the form could not be read, or is larger than 64 KiB"})
		return oauth.Client{}, false
	}
	if len(r.URL.RawQuery) > 0 {
		// RFC 6749 §3.2: credentials and codes go in the body, where
		// they do not end up in logs.
		writeOAuthError(w, &oauth.Error{Code: oauth.ErrCodeInvalidRequest, Description: "send the parameters in the body, not in the URL"})
		return oauth.Client{}, false
	}
	return c, true
}

func (s *Server) obToken(w http.ResponseWriter, r *http.Request) {
	c, ok := s.oauthClient(w, r)
	if !ok {
		return
	}
	resp, err := s.ob.svc.Token(r.Context(), c, r.PostForm)
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) obRevoke(w http.ResponseWriter, r *http.Request) {
	c, ok := s.oauthClient(w, r)
	if !ok {
		return
	}
	if err := s.ob.svc.Revoke(r.Context(), c, r.PostForm); err != nil {
		s.oauthFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// learnerOnly refuses API tokens: a learner's authorizations are theirs
// to see and withdraw, not an issuer's automation's.
func learnerOnly(w http.ResponseWriter, p *auth.Principal) bool {
	if p.Kind != auth.KindUser {
		writeError(w, http.StatusForbidden, "forbidden", "only a signed-in person manages the applications they authorized", "")
		return false
	}
	return true
}

type oauthGrantJSON struct {
	ID        string         `json:"id"`
	Client    map[string]any `json:"client"`
	Scopes    []string       `json:"scopes"`
	CreatedAt time.Time      `json:"createdAt"`
	ExpiresAt time.Time      `json:"expiresAt"`
}

func (s *Server) listOAuthGrants(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !learnerOnly(w, p) {
		return
	}
	gs, err := s.ob.svc.UserGrants(r.Context(), p.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]oauthGrantJSON, 0, len(gs))
	for _, g := range gs {
		c := map[string]any{"id": g.ClientID, "name": g.ClientName, "uri": g.ClientURI}
		if g.LogoURI != "" {
			c["logoUri"] = g.LogoURI
		}
		out = append(out, oauthGrantJSON{ID: g.ID, Client: c, Scopes: g.Scopes, CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"grants": out})
}

func (s *Server) revokeOAuthGrant(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !learnerOnly(w, p) {
		return
	}
	err := s.ob.svc.RevokeUserGrant(r.Context(), p.UserID, mux.Vars(r)["id"])
	if errors.Is(err, oauth.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "you have no authorization with this id", "")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
