package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/vcjwt"
)

// shareCard is what the public page shows of one credential.
type shareCard struct {
	Name, Description, Issuer, IssuerURL string
	Image, Alt                           string
	Criteria, CriteriaURL                string
	Issued                               string
	Evidence                             []shareLink
	Alignments                           []shareLink
	Verdict, VerdictText, VerdictClass   string
	Checked                              string
	// VerdictKey names VerdictText in the pages' catalogue; CheckedAt is
	// when it was checked.
	VerdictKey string
	CheckedAt  time.Time
	LinkedIn   string
}

type shareLink struct{ Name, URL, Text string }

var shareTmpl = template.Must(template.New("share").Funcs(template.FuncMap{"safeURL": safeURL}).Parse(`<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<meta name="robots" content="noindex">
<meta property="og:type" content="website"><meta property="og:title" content="{{.Title}}">
<meta property="og:description" content="{{.Description}}"><meta property="og:url" content="{{.URL}}">
{{with .OGImage}}<meta property="og:image" content="{{.}}">{{end}}
<style>body{font-family:Marianne,Arial,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#161616;line-height:1.5}
h1,h2{color:#000091}a{color:#000091}.ok{color:#18753c;font-weight:bold}.warn{color:#b34000;font-weight:bold}.bad{color:#ce0500;font-weight:bold}
article{border-top:1px solid #ddd;padding-top:1rem;margin-top:1rem}img{max-width:160px;height:auto}</style></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{range .Cards}}<article>
{{if .Image}}<img src="{{safeURL .Image}}" alt="{{.Alt}}" width="160">{{end}}
<h2>{{.Name}}</h2>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<dl>
<dt>Émetteur</dt><dd>{{if .IssuerURL}}<a href="{{safeURL .IssuerURL}}">{{.Issuer}}</a>{{else}}{{.Issuer}}{{end}}</dd>
{{if .Issued}}<dt>Délivré le</dt><dd>{{.Issued}}</dd>{{end}}
{{if or .Criteria .CriteriaURL}}<dt>Critères</dt><dd>{{.Criteria}}{{if .CriteriaURL}} <a href="{{safeURL .CriteriaURL}}">(détail des critères)</a>{{end}}</dd>{{end}}
{{if .Evidence}}<dt>Preuves</dt><dd><ul>{{range .Evidence}}<li>{{if .URL}}<a href="{{safeURL .URL}}">{{.Name}}</a>{{else}}{{.Name}}{{end}}{{if .Text}} : {{.Text}}{{end}}</li>{{end}}</ul></dd>{{end}}
{{if .Alignments}}<dt>Compétences visées</dt><dd><ul>{{range .Alignments}}<li>{{if .URL}}<a href="{{safeURL .URL}}">{{.Name}}</a>{{else}}{{.Name}}{{end}}{{if .Text}} ({{.Text}}){{end}}</li>{{end}}</ul></dd>{{end}}
<dt>Vérification</dt><dd><span class="{{.VerdictClass}}">{{.VerdictText}}</span> <small>({{.Checked}})</small></dd>
</dl>
{{if .LinkedIn}}<p><a href="{{safeURL .LinkedIn}}" rel="noopener">Ajouter à mon profil LinkedIn</a></p>{{end}}
</article>{{else}}<p>Ce lien ne montre plus aucun badge.</p>{{end}}
</main></body></html>`))

// safeURL lets only http(s) and data:image URLs into a page.
func safeURL(u string) template.URL {
	switch {
	case strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"):
		return template.URL(u)
	case strings.HasPrefix(u, "data:image/png;base64,"), strings.HasPrefix(u, "data:image/jpeg;base64,"), strings.HasPrefix(u, "data:image/gif;base64,"):
		return template.URL(u)
	}
	return ""
}

// sharePage is the public page of a share link: private by default, a
// credential or collection is seen only through a live link.
func (s *Server) sharePage(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	sh, err := s.backpack.OpenShare(r.Context(), id)
	if err != nil {
		if errors.Is(err, backpack.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "this share link does not exist, has expired or was revoked", "")
			return
		}
		s.failBackpack(w, r, err)
		return
	}
	url := s.backpack.ShareURL(id)
	data := map[string]any{"URL": url}
	var cards []shareCard
	for i := range sh.Items {
		c := s.card(r, &sh.Items[i])
		if sh.Share.TargetKind == backpack.ShareCredential {
			c.LinkedIn = backpack.LinkedInURL(sh.Items[i], url)
		}
		cards = append(cards, c)
	}
	data["Cards"] = cards
	if sh.Collection != nil {
		data["Title"], data["Description"] = sh.Collection.Name, sh.Collection.Description
	} else if len(cards) > 0 {
		data["Title"], data["Description"] = cards[0].Name+" – "+cards[0].Issuer, cards[0].Description
	} else {
		data["Title"] = "Badge partagé"
	}
	if len(cards) > 0 && strings.HasPrefix(cards[0].Image, "http") {
		data["OGImage"] = cards[0].Image
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; frame-ancestors *")
	if r.URL.Query().Get("embed") == "1" {
		// The embed snippet frames this page on the learner's own site.
		h.Del("X-Frame-Options")
	}
	if s.web != nil {
		s.sharePageHTML(w, r, data, cards)
		return
	}
	if err := shareTmpl.Execute(w, data); err != nil {
		s.log.ErrorContext(r.Context(), "share page", "err", err)
	}
}

// card reads what the page shows from the credential itself, and
// verifies it now (issued or imported OB 3.0); an OB 2.0 assertion shows
// its last scheduled verification.
func (s *Server) card(r *http.Request, it *backpack.Item) shareCard {
	c := shareCard{Name: it.Name, Issuer: it.IssuerName, Verdict: it.Verdict}
	checked := it.VerifiedAt
	payload := bytes.TrimSpace(it.Payload)
	doc := payload
	if vcjwt.LooksLikeJWS(payload) {
		doc = jwsPayload(payload)
	}
	var cred struct {
		Name      string `json:"name"`
		ValidFrom string `json:"validFrom"`
		Issuance  string `json:"issuanceDate"`
		Issuer    json.RawMessage
		VC        json.RawMessage `json:"vc"`
		Subject   struct {
			Achievement struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				Image       json.RawMessage
				Criteria    struct {
					ID        string `json:"id"`
					Narrative string `json:"narrative"`
				} `json:"criteria"`
				Alignment []struct {
					TargetName string `json:"targetName"`
					TargetURL  string `json:"targetUrl"`
					TargetCode string `json:"targetCode"`
				} `json:"alignment"`
			} `json:"achievement"`
		} `json:"credentialSubject"`
		Evidence []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Narrative string `json:"narrative"`
		} `json:"evidence"`
	}
	if json.Unmarshal(doc, &cred) == nil && len(cred.VC) > 0 {
		json.Unmarshal(cred.VC, &cred)
	}
	a := cred.Subject.Achievement
	if a.Name != "" {
		c.Name = a.Name
	}
	c.Description, c.Criteria, c.CriteriaURL = a.Description, a.Criteria.Narrative, a.Criteria.ID
	var img struct {
		ID      string `json:"id"`
		Caption string `json:"caption"`
	}
	if json.Unmarshal(a.Image, &img) != nil {
		json.Unmarshal(a.Image, &img.ID)
	}
	c.Image, c.Alt = img.ID, img.Caption
	if c.Image == "" && it.Kind == backpack.KindIssued {
		c.Image = s.iss.CredentialURL(it.ID) + "/badge.svg"
	}
	if c.Alt == "" {
		c.Alt = "Badge « " + c.Name + " »"
	}
	var iss struct {
		Name string `json:"name"`
		URL  string `json:"url"`
		ID   string `json:"id"`
	}
	if json.Unmarshal(cred.Issuer, &iss) == nil && iss.Name != "" {
		c.Issuer, c.IssuerURL = iss.Name, iss.URL
	}
	for _, e := range cred.Evidence {
		name := e.Name
		if name == "" {
			name = "Preuve"
		}
		c.Evidence = append(c.Evidence, shareLink{Name: name, URL: e.ID, Text: e.Narrative})
	}
	for _, al := range a.Alignment {
		c.Alignments = append(c.Alignments, shareLink{Name: al.TargetName, URL: al.TargetURL, Text: al.TargetCode})
	}
	date := cred.ValidFrom
	if date == "" {
		date = cred.Issuance
	}
	if t, err := time.Parse(time.RFC3339, date); err == nil {
		c.Issued = t.Format("02/01/2006")
	}
	if it.Format != backpack.FormatOB2 && s.verifier != nil && len(payload) > 0 {
		if v, ok := s.sharedVerdict(r.Context(), it.Status, payload); ok {
			c.Verdict = string(v.verdict)
			checked = v.at
			if it.Kind == backpack.KindIssued && it.Status != "" {
				c.Verdict = string(badges.Invalid)
			}
		}
	}
	c.Checked = "vérifié le " + checked.UTC().Format("02/01/2006 à 15:04 UTC")
	c.CheckedAt = checked
	switch {
	case it.Status == "revoked":
		c.VerdictText, c.VerdictClass, c.VerdictKey = "révoqué par son émetteur", "bad", "share.verdict.revoked"
	case it.Status == "suspended":
		c.VerdictText, c.VerdictClass, c.VerdictKey = "suspendu par son émetteur", "bad", "share.verdict.suspended"
	case it.Status == "expired":
		c.VerdictText, c.VerdictClass, c.VerdictKey = "expiré", "bad", "share.verdict.expired"
	case c.Verdict == string(badges.Valid):
		c.VerdictText, c.VerdictClass, c.VerdictKey = "authentique et valide", "ok", "share.verdict.valid"
	case c.Verdict == string(badges.Warnings):
		c.VerdictText, c.VerdictClass, c.VerdictKey = "signature valide, émetteur non confirmé", "warn", "share.verdict.warnings"
	default:
		c.VerdictText, c.VerdictClass, c.VerdictKey = "non valide", "bad", "share.verdict.invalid"
	}
	return c
}

func jwsPayload(tok []byte) []byte {
	parts := bytes.Split(tok, []byte("."))
	if len(parts) != 3 {
		return nil
	}
	p, _ := base64.RawURLEncoding.DecodeString(string(parts[1]))
	return p
}

var verifyEmailTmpl = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:Marianne,Arial,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#161616}h1{color:#000091}</style></head>
<body><main><h1>{{.Title}}</h1><p>{{.Text}}</p></main></body></html>`))

// verifyEmailPage follows the link mailed to a learner's further
// address: whoever reads that mailbox confirms it is theirs.
func (s *Server) verifyEmailPage(w http.ResponseWriter, r *http.Request) {
	e, err := s.backpack.VerifyEmail(r.Context(), r.URL.Query().Get("token"))
	status, title, text := http.StatusOK, "Adresse confirmée", ""
	switch {
	case err == nil:
		text = "L'adresse " + e.Email + " est ajoutée à votre sac à badges : les badges qui lui sont délivrés y apparaissent."
	case errors.Is(err, backpack.ErrConflict):
		status, title, text = http.StatusConflict, "Adresse déjà utilisée", "Cette adresse appartient déjà au sac à badges d'une autre personne."
	default:
		var in *backpack.InputError
		if !errors.Is(err, backpack.ErrNotFound) && !errors.As(err, &in) {
			s.fail(w, r, err)
			return
		}
		status, title, text = http.StatusNotFound, "Lien non valable", "Ce lien de confirmation est inconnu, a déjà servi ou a expiré."
	}
	if s.web != nil {
		s.messagePage(w, r, status, title, text)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	verifyEmailTmpl.Execute(w, map[string]string{"Title": title, "Text": text})
}
