package backpack

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"strings"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/bake"
	"github.com/insigne/insigne/badges/vcjwt"
)

// Export formats.
const (
	ExportJSON = "json"
	ExportJWT  = "jwt"
	ExportPNG  = "png"
	ExportSVG  = "svg"
)

// Export returns one of the learner's credentials in format, with its
// media type. An imported credential is given back as it arrived: the
// same bytes, the same signature.
func (s *Service) Export(ctx context.Context, userID, id, format string) ([]byte, string, error) {
	it, err := s.Get(ctx, userID, id)
	if err != nil {
		return nil, "", err
	}
	if it.Kind == KindIssued {
		switch format {
		case ExportJSON:
			return it.Payload, "application/vc+ld+json", nil
		case ExportJWT:
			tok, err := s.iss.JWT(ctx, it.ID)
			return []byte(tok), "application/vc+jwt", err
		case ExportPNG, ExportSVG:
			b, err := s.iss.Baked(ctx, it.ID, format)
			return b, imageType(format), err
		}
		return nil, "", inputErr("format", "must be json, jwt, png or svg")
	}
	isJWS := vcjwt.LooksLikeJWS(bytes.TrimSpace(it.Payload))
	switch format {
	case ExportJSON:
		if isJWS || it.Format == FormatOB2 && !json.Valid(it.Payload) {
			return nil, "", inputErr("format", "this credential is a signed token (JWS): export it as jwt")
		}
		mt := "application/vc+ld+json"
		if it.Format == FormatOB2 {
			mt = "application/ld+json"
		}
		return it.Payload, mt, nil
	case ExportJWT:
		if !isJWS {
			return nil, "", inputErr("format", "this credential carries an embedded proof, not a JWS; only its issuer can sign it as a VC-JWT")
		}
		return it.Payload, "application/vc+jwt", nil
	case ExportPNG, ExportSVG:
		if it.Format == format {
			return it.Original, imageType(format), nil
		}
		if it.Format == FormatOB2 {
			return nil, "", inputErr("format", "an Open Badges 2.0 assertion is exported as it arrived (json)")
		}
		var b []byte
		if format == ExportPNG {
			b, err = bake.BakePNG(plainPNG(), it.Payload)
		} else {
			b, err = bake.BakeSVG(plainSVG(it.Name), it.Payload)
		}
		return b, imageType(format), err
	}
	return nil, "", inputErr("format", "must be json, jwt, png or svg")
}

func imageType(format string) string {
	if format == ExportPNG {
		return "image/png"
	}
	return "image/svg+xml"
}

func plainPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{0, 0, 145, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func plainSVG(name string) []byte {
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256" role="img" aria-label="` +
		html.EscapeString(name) + `"><circle cx="128" cy="128" r="120" fill="#000091"/></svg>`)
}

// CLR builds and signs a CLR 2.0 ClrCredential of the learner's record:
// every credential in the backpack that carries an embedded proof and
// verifies (or those of ids, a selection), embedded verbatim, with the
// achievements they hold and so the competencies they align to. It is
// signed by the platform issuer.
func (s *Service) CLR(ctx context.Context, userID string, ids []string) ([]byte, error) {
	if s.iss == nil || s.platform == "" {
		return nil, fmt.Errorf("%w: no platform issuer is configured to sign learner records", ErrConflict)
	}
	var items []Item
	if len(ids) > 0 {
		for i, id := range ids {
			it, err := s.Get(ctx, userID, id)
			if isNotFound(err) {
				return nil, inputErr(fmt.Sprintf("credentials[%d]", i), "%q is not a credential in your backpack", id)
			}
			if err != nil {
				return nil, err
			}
			if !clrEligible(it) {
				return nil, inputErr(fmt.Sprintf("credentials[%d]", i), "%q cannot go into a CLR: only valid Open Badges 3.0 credentials with an embedded proof can", id)
			}
			items = append(items, *it)
		}
	} else {
		for offset := 0; ; offset += MaxPage {
			page, _, err := s.List(ctx, userID, Query{Limit: MaxPage, Offset: offset})
			if err != nil {
				return nil, err
			}
			for _, p := range page {
				it, err := s.Get(ctx, userID, p.ID)
				if err != nil {
					return nil, err
				}
				if clrEligible(it) {
					items = append(items, *it)
				}
			}
			if len(page) < MaxPage {
				break
			}
		}
	}
	if len(items) == 0 {
		return nil, inputErr("credentials", "no credential of the backpack can go into a CLR (valid Open Badges 3.0 with an embedded proof)")
	}
	profile, err := s.iss.PlatformProfile(ctx, s.platform)
	if err != nil {
		return nil, err
	}
	email, err := s.store.AccountEmail(ctx, userID)
	if err != nil {
		return nil, err
	}
	p := badges.ClrParams{Issuer: profile, Subject: badges.Recipient{Email: email},
		Name: "Parcours de formation", Description: "Relevé des badges et des compétences du sac à badges Insigne",
		ValidFrom: s.now().UTC().Truncate(time.Second)}
	if len(ids) > 0 {
		partial := true
		p.Partial = &partial
	}
	seen := map[string]bool{}
	for _, it := range items {
		p.Credentials = append(p.Credentials, it.Payload)
		var doc struct {
			Subject struct {
				Achievement badges.Achievement `json:"achievement"`
			} `json:"credentialSubject"`
		}
		if json.Unmarshal(it.Payload, &doc) == nil && doc.Subject.Achievement.ID != "" && !seen[doc.Subject.Achievement.ID] {
			seen[doc.Subject.Achievement.ID] = true
			p.Achievements = append(p.Achievements, doc.Subject.Achievement)
		}
	}
	clr, err := badges.BuildClrCredential(p)
	if err != nil {
		// An achievement from elsewhere that Insigne's builder finds
		// wanting must not cost the learner the record: the credentials
		// embedded carry their achievements anyway.
		s.log.WarnContext(ctx, "backpack: CLR without its achievement list", "err", err)
		p.Achievements = nil
		if clr, err = badges.BuildClrCredential(p); err != nil {
			return nil, fmt.Errorf("backpack: CLR: %w", err)
		}
	}
	raw, err := json.Marshal(clr)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return s.iss.SignDataIntegrity(ctx, s.platform, doc)
}

// clrEligible: a JSON OB 3.0 credential with an embedded proof that did
// not fail verification.
func clrEligible(it *Item) bool {
	if it.Format == FormatOB2 || it.Verdict == string(badges.Invalid) {
		return false
	}
	t := bytes.TrimSpace(it.Payload)
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	var d struct {
		Proof json.RawMessage `json:"proof"`
		Type  []string        `json:"type"`
	}
	if json.Unmarshal(t, &d) != nil || len(d.Proof) == 0 {
		return false
	}
	for _, ty := range d.Type {
		if ty == "OpenBadgeCredential" || ty == "AchievementCredential" {
			return true
		}
	}
	return false
}

// PersonalData returns a zip of everything the backpack holds about the
// learner (GDPR access and portability).
func (s *Service) PersonalData(ctx context.Context, userID string) ([]byte, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	put := func(name string, b []byte) error {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: s.now()})
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	putJSON := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		return put(name, b)
	}
	acct, err := s.store.AccountEmail(ctx, userID)
	if err != nil {
		return nil, err
	}
	emails, err := s.store.LearnerEmails(ctx, userID)
	if err != nil {
		return nil, err
	}
	type addr struct {
		Email    string     `json:"email"`
		Verified *time.Time `json:"verifiedAt,omitempty"`
	}
	account := struct {
		UserID     string `json:"userId"`
		Email      string `json:"email"`
		Addresses  []addr `json:"addresses"`
		ExportedAt string `json:"exportedAt"`
	}{UserID: userID, Email: acct, ExportedAt: s.now().UTC().Format(time.RFC3339)}
	for _, e := range emails {
		a := addr{Email: e.Email}
		if !e.VerifiedAt.IsZero() {
			v := e.VerifiedAt
			a.Verified = &v
		}
		account.Addresses = append(account.Addresses, a)
	}
	if err := put("LISEZMOI.txt", []byte("Export de vos données personnelles du sac à badges Insigne.\n\n"+
		"account.json : votre compte et vos adresses ; credentials/ : chaque badge tel qu'il est conservé, avec son rapport de vérification ;\n"+
		"collections.json, shares.json : vos collections et liens de partage ; profile.json : votre profil Open Badges.\n")); err != nil {
		return nil, err
	}
	if err := putJSON("account.json", account); err != nil {
		return nil, err
	}
	for offset := 0; ; offset += MaxPage {
		page, _, err := s.List(ctx, userID, Query{Limit: MaxPage, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			it, err := s.Get(ctx, userID, p.ID)
			if err != nil {
				return nil, err
			}
			ext := "json"
			if vcjwt.LooksLikeJWS(bytes.TrimSpace(it.Payload)) {
				ext = "jwt"
			}
			dir := "credentials/" + it.Kind + "/" + it.ID
			if err := put(dir+"/credential."+ext, it.Payload); err != nil {
				return nil, err
			}
			if it.Kind == KindImported {
				if it.Format == FormatPNG || it.Format == FormatSVG {
					if err := put(dir+"/original."+it.Format, it.Original); err != nil {
						return nil, err
					}
				}
				if err := put(dir+"/report.json", it.Report); err != nil {
					return nil, err
				}
			}
		}
		if len(page) < MaxPage {
			break
		}
	}
	cols, err := s.store.Collections(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := putJSON("collections.json", cols); err != nil {
		return nil, err
	}
	shares, err := s.store.Shares(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := putJSON("shares.json", shares); err != nil {
		return nil, err
	}
	prof, err := s.store.Profile(ctx, userID)
	if err != nil {
		return nil, err
	}
	if prof != nil {
		if err := put("profile.json", prof); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Erase deletes the learner's personal data on request: imported
// credentials, collections, share links, addresses, profile and sessions
// go, and the account keeps no name or address. Credentials issued to
// them stay verifiable through their status lists: the issuer's signed
// record is not personal data the issuer may drop, but its recipient
// columns are blanked.
func (s *Service) Erase(ctx context.Context, userID string) error {
	emails, err := s.Identities(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.store.EraseLearner(ctx, userID, emails); err != nil {
		return err
	}
	s.forget(userID)
	return nil
}

// Notify e-mails the recipients of credentials that landed since the last
// run (each claimed once across nodes). It returns how many it sent.
func (s *Service) Notify(ctx context.Context) (int, error) {
	if s.mailer == nil {
		return 0, nil
	}
	sent := 0
	// A bulk award lands thousands at once: page through them (bounded,
	// the next pass goes on).
	for range 50 {
		landed, err := s.store.LandedSince(ctx, s.now().Add(-time.Hour), 200)
		if err != nil {
			return sent, err
		}
		for _, l := range landed {
			n, err := s.notifyOne(ctx, l)
			if err != nil {
				return sent, err
			}
			sent += n
		}
		if len(landed) < 200 {
			break
		}
	}
	return sent, nil
}

// notifyOne claims and sends one notification: 1 when sent.
func (s *Service) notifyOne(ctx context.Context, l Landed) (int, error) {
	ok, err := s.store.ClaimNotification(ctx, l.CredentialID, s.now())
	if err != nil {
		return 0, err
	}
	if !ok || l.RecipientEmail == "" {
		return 0, nil
	}
	var a struct {
		Name string `json:"name"`
	}
	json.Unmarshal(l.AchievementDoc, &a)
	hello := "Bonjour"
	if l.RecipientName != "" {
		hello += " " + l.RecipientName
	}
	body := hello + ",\n\n" + l.IssuerName + " vous a décerné le badge « " + a.Name + " ».\n" +
		"Il est dans votre sac à badges : " + s.base + "/backpack\n" +
		"Vous pouvez le vérifier à tout moment : " + s.iss.CredentialURL(l.CredentialID) + "\n"
	if err := s.mailer.Send(ctx, l.RecipientEmail, "Nouveau badge : "+strings.TrimSpace(a.Name), body); err != nil {
		s.log.WarnContext(ctx, "backpack: notification not sent", "credential", l.CredentialID, "err", err)
		return 0, nil
	}
	return 1, nil
}

// Profile returns the learner's Open Badges profile: the one they stored,
// or one made from their account.
func (s *Service) Profile(ctx context.Context, userID string) (json.RawMessage, error) {
	p, err := s.store.Profile(ctx, userID)
	if err != nil || p != nil {
		return p, err
	}
	email, err := s.store.AccountEmail(ctx, userID)
	if err != nil {
		return nil, err
	}
	doc := map[string]any{"id": s.base + "/learners/" + userID, "type": []string{"Profile"}}
	if email != "" {
		doc["email"] = email
	}
	return json.Marshal(doc)
}

// MaxProfile caps a stored profile.
const MaxProfile = 64 << 10

// PutProfile stores the learner's Open Badges profile: a JSON object whose
// type holds "Profile". Its id is the learner's, whatever was sent.
func (s *Service) PutProfile(ctx context.Context, userID string, body []byte) (json.RawMessage, error) {
	if len(body) > MaxProfile {
		return nil, inputErr("", "the profile is larger than %d KiB", MaxProfile>>10)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		return nil, inputErr("", "the profile must be a JSON object")
	}
	hasType := false
	switch t := doc["type"].(type) {
	case string:
		hasType = t == "Profile"
	case []any:
		for _, e := range t {
			hasType = hasType || e == "Profile"
		}
	}
	if !hasType {
		return nil, inputErr("type", "must hold \"Profile\"")
	}
	for _, f := range []string{"name", "email", "url", "description"} {
		if v, ok := doc[f]; ok {
			if _, isStr := v.(string); !isStr {
				return nil, inputErr(f, "must be a string")
			}
		}
	}
	if err := badges.CheckControlChars(doc); err != nil {
		return nil, inputErr("", "%v", err)
	}
	doc["id"] = s.base + "/learners/" + userID
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if err := s.store.PutProfile(ctx, userID, out, s.now()); err != nil {
		return nil, err
	}
	return out, nil
}
