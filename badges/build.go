package badges

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// JSON-LD contexts and schema identifiers of issued credentials.
const (
	ContextCredentialsV2 = "https://www.w3.org/ns/credentials/v2"
	ContextOB303         = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
	ContextCLR201        = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
	// ContextOBExtensions defines 1EdTechJsonSchemaValidator2019 (and the
	// 1EdTech revocation list and refresh types): without it these types are
	// relative IRIs and signatures do not interoperate.
	ContextOBExtensions = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"

	SchemaAchievementCredential = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
	SchemaEndorsementCredential = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json"
	SchemaClrCredential         = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
	// SchemaValidatorType is the credentialSchema type of 1EdTech schemas.
	SchemaValidatorType = "1EdTechJsonSchemaValidator2019"
)

// FieldError is an input the builders refuse; Field names it, with the JSON
// names of the credential ("achievement.alignment[0].targetUrl") or a JSON
// pointer when the check ran on the JSON document.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Recipient is the learner a credential is issued to: at least one of Email
// and DID. Both become part of the credential subject: the DID as its id, the
// e-mail address (and the name, if any) as salted hashes.
type Recipient struct {
	Email string
	DID   string
	Name  string
}

// AwardParams are the inputs of BuildAchievementCredential.
type AwardParams struct {
	// ID is the credential id; a random urn:uuid when empty.
	ID          string
	Issuer      Profile
	Achievement Achievement
	Recipient   Recipient
	// ValidFrom defaults to now; AwardedDate defaults to ValidFrom. Both are
	// written in UTC to the second ("2006-01-02T15:04:05Z").
	ValidFrom   time.Time
	AwardedDate time.Time
	ValidUntil  *time.Time

	Narrative         string
	Evidence          []Evidence
	Results           []Result
	ActivityStartDate *time.Time
	ActivityEndDate   *time.Time
	CreditsEarned     *float64
	Status            *CredentialStatus
	// Name and Description of the credential; the achievement's by default.
	Name        string
	Description string
	Image       *Image

	// Salt of the recipient's identity hashes. Leave empty: each credential
	// then gets a random salt of its own, so the same address does not hash
	// to the same value across credentials (no linkability). Set only in
	// tests.
	Salt string
}

// BuildAchievementCredential returns a complete, unsigned OpenBadgeCredential
// ready to be signed: the OB 3.0 contexts (with extensions.json, needed by
// the credentialSchema type), credentialSchema, awardedDate, and a subject
// naming the recipient by DID and/or salted e-mail hash. It refuses inputs
// that would make a credential invalid against the 1EdTech schema or the
// spec, naming the field, and strings with control characters that
// canonicalization would not escape.
func BuildAchievementCredential(p AwardParams) (*AchievementCredential, error) {
	c, err := buildAchievementCredential(p)
	if err != nil {
		return nil, fmt.Errorf("build achievement credential: %w", err)
	}
	return c, nil
}

func buildAchievementCredential(p AwardParams) (*AchievementCredential, error) {
	id, err := credentialID(p.ID)
	if err != nil {
		return nil, err
	}
	issuer, err := normProfile("issuer", p.Issuer)
	if err != nil {
		return nil, err
	}
	ach, err := normAchievement("achievement", p.Achievement)
	if err != nil {
		return nil, err
	}
	validFrom, validUntil, err := validity(p.ValidFrom, p.ValidUntil)
	if err != nil {
		return nil, err
	}
	awarded := validFrom
	if !p.AwardedDate.IsZero() {
		awarded = dateTimeZ(p.AwardedDate)
	}

	subject := AchievementSubject{
		Type:        []string{"AchievementSubject"},
		Achievement: &ach,
		Narrative:   p.Narrative,
	}
	subject.ID, subject.Identifier, err = recipientIdentity("recipient", p.Recipient, p.Salt)
	if err != nil {
		return nil, err
	}
	if p.ActivityStartDate != nil {
		subject.ActivityStartDate = dateTimeZ(*p.ActivityStartDate)
	}
	if p.ActivityEndDate != nil {
		subject.ActivityEndDate = dateTimeZ(*p.ActivityEndDate)
		if p.ActivityStartDate != nil && p.ActivityEndDate.Before(*p.ActivityStartDate) {
			return nil, fieldErr("activityEndDate", "is before activityStartDate")
		}
	}
	if p.CreditsEarned != nil {
		if err := checkCredits("creditsEarned", *p.CreditsEarned); err != nil {
			return nil, err
		}
		v := *p.CreditsEarned
		subject.CreditsEarned = &v
	}
	if subject.Result, err = normResults("result", p.Results, ach.ResultDescription); err != nil {
		return nil, err
	}

	c := &AchievementCredential{
		Context:           []any{ContextCredentialsV2, ContextOB303, ContextOBExtensions},
		ID:                id,
		Type:              []string{"VerifiableCredential", "OpenBadgeCredential"},
		Name:              nonEmptyOr(p.Name, ach.Name),
		Description:       nonEmptyOr(p.Description, ach.Description),
		AwardedDate:       awarded,
		CredentialSubject: subject,
		Issuer:            ProfileRef{Profile: issuer},
		ValidFrom:         validFrom,
		ValidUntil:        validUntil,
		CredentialSchema:  []CredentialSchema{{ID: SchemaAchievementCredential, Type: SchemaValidatorType}},
	}
	if c.Image, err = normImagePtr("image", p.Image); err != nil {
		return nil, err
	}
	if c.Evidence, err = normEvidence("evidence", p.Evidence); err != nil {
		return nil, err
	}
	if c.CredentialStatus, err = normStatus("credentialStatus", p.Status); err != nil {
		return nil, err
	}
	if err := checkDocument(c); err != nil {
		return nil, err
	}
	return c, nil
}

// EndorsementParams are the inputs of BuildEndorsementCredential.
type EndorsementParams struct {
	ID string // a random urn:uuid when empty
	// Issuer is the endorser.
	Issuer Profile
	// SubjectID is the id of the endorsed profile, achievement or credential.
	SubjectID string
	Comment   string // endorsementComment, Markdown
	Name      string // required by the schema
	// Description is optional.
	Description string
	ValidFrom   time.Time // now by default
	ValidUntil  *time.Time
	Status      *CredentialStatus
}

// BuildEndorsementCredential returns a complete, unsigned
// EndorsementCredential ready to be signed.
func BuildEndorsementCredential(p EndorsementParams) (*EndorsementCredential, error) {
	c, err := buildEndorsementCredential(p)
	if err != nil {
		return nil, fmt.Errorf("build endorsement credential: %w", err)
	}
	return c, nil
}

func buildEndorsementCredential(p EndorsementParams) (*EndorsementCredential, error) {
	id, err := credentialID(p.ID)
	if err != nil {
		return nil, err
	}
	issuer, err := normProfile("issuer", p.Issuer)
	if err != nil {
		return nil, err
	}
	if err := checkURI("credentialSubject.id", p.SubjectID); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Name) == "" {
		return nil, fieldErr("name", "is required")
	}
	validFrom, validUntil, err := validity(p.ValidFrom, p.ValidUntil)
	if err != nil {
		return nil, err
	}
	c := &EndorsementCredential{
		Context:     []any{ContextCredentialsV2, ContextOB303, ContextOBExtensions},
		ID:          id,
		Type:        []string{"VerifiableCredential", "EndorsementCredential"},
		Name:        p.Name,
		Description: p.Description,
		CredentialSubject: EndorsementSubject{
			ID:                 p.SubjectID,
			Type:               []string{"EndorsementSubject"},
			EndorsementComment: p.Comment,
		},
		Issuer:           ProfileRef{Profile: issuer},
		ValidFrom:        validFrom,
		ValidUntil:       validUntil,
		CredentialSchema: []CredentialSchema{{ID: SchemaEndorsementCredential, Type: SchemaValidatorType}},
	}
	if c.CredentialStatus, err = normStatus("credentialStatus", p.Status); err != nil {
		return nil, err
	}
	if err := checkDocument(c); err != nil {
		return nil, err
	}
	return c, nil
}

// ClrParams are the inputs of BuildClrCredential.
type ClrParams struct {
	ID      string // a random urn:uuid when empty
	Issuer  Profile
	Subject Recipient
	// Credentials are the learner's signed AchievementCredentials, embedded
	// verbatim (their proofs cover their exact content).
	Credentials []json.RawMessage
	Name        string // required
	Description string
	// Partial says the CLR does not hold every credential known for the
	// learner; omitted when nil.
	Partial      *bool
	Achievements []Achievement
	Associations []Association
	ValidFrom    time.Time // now by default
	ValidUntil   *time.Time
	Status       *CredentialStatus
	Salt         string // as in AwardParams: leave empty outside tests
}

// BuildClrCredential returns a complete, unsigned CLR 2.0 ClrCredential
// wrapping signed AchievementCredentials.
func BuildClrCredential(p ClrParams) (*ClrCredential, error) {
	c, err := buildClrCredential(p)
	if err != nil {
		return nil, fmt.Errorf("build CLR credential: %w", err)
	}
	return c, nil
}

func buildClrCredential(p ClrParams) (*ClrCredential, error) {
	id, err := credentialID(p.ID)
	if err != nil {
		return nil, err
	}
	issuer, err := normProfile("issuer", p.Issuer)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Name) == "" {
		return nil, fieldErr("name", "is required")
	}
	validFrom, validUntil, err := validity(p.ValidFrom, p.ValidUntil)
	if err != nil {
		return nil, err
	}
	if len(p.Credentials) == 0 {
		return nil, fieldErr("credentialSubject.verifiableCredential", "at least one credential is required")
	}
	vcs := make([]json.RawMessage, len(p.Credentials))
	for i, raw := range p.Credentials {
		if err := checkSigned(raw, "OpenBadgeCredential", "AchievementCredential"); err != nil {
			return nil, fieldErr(fmt.Sprintf("credentialSubject.verifiableCredential[%d]", i), "%v", err)
		}
		vcs[i] = slices.Clone(raw)
	}
	subject := ClrSubject{Type: []string{"ClrSubject"}, VerifiableCredential: vcs}
	subject.ID, subject.Identifier, err = recipientIdentity("subject", p.Subject, p.Salt)
	if err != nil {
		return nil, err
	}
	for i, a := range p.Achievements {
		n, err := normAchievement(fmt.Sprintf("credentialSubject.achievement[%d]", i), a)
		if err != nil {
			return nil, err
		}
		subject.Achievement = append(subject.Achievement, n)
	}
	for i, a := range p.Associations {
		f := fmt.Sprintf("credentialSubject.association[%d]", i)
		if a.Type == "" {
			a.Type = "Association"
		} else if a.Type != "Association" {
			return nil, fieldErr(f+".type", "must be %q", "Association")
		}
		if !slices.Contains(associationTypes(), a.AssociationType) {
			return nil, fieldErr(f+".associationType", "%q is not one of %s", a.AssociationType, strings.Join(associationTypes(), ", "))
		}
		if err := checkURI(f+".sourceId", a.SourceID); err != nil {
			return nil, err
		}
		if err := checkURI(f+".targetId", a.TargetID); err != nil {
			return nil, err
		}
		subject.Association = append(subject.Association, a)
	}
	var partial *bool
	if p.Partial != nil {
		v := *p.Partial
		partial = &v
	}
	c := &ClrCredential{
		Context:           []any{ContextCredentialsV2, ContextCLR201, ContextOB303, ContextOBExtensions},
		ID:                id,
		Type:              []string{"VerifiableCredential", "ClrCredential"},
		Name:              p.Name,
		Description:       p.Description,
		Partial:           partial,
		CredentialSubject: subject,
		Issuer:            ProfileRef{Profile: issuer},
		ValidFrom:         validFrom,
		ValidUntil:        validUntil,
		CredentialSchema:  []CredentialSchema{{ID: SchemaClrCredential, Type: SchemaValidatorType}},
	}
	if c.CredentialStatus, err = normStatus("credentialStatus", p.Status); err != nil {
		return nil, err
	}
	if err := checkDocument(c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkSigned makes sure raw is a signed credential (it carries a proof)
// whose type holds VerifiableCredential and one of types: embedded
// credentials must verify on their own.
func checkSigned(raw json.RawMessage, types ...string) error {
	var vc struct {
		Type  json.RawMessage `json:"type"`
		Proof json.RawMessage `json:"proof"`
	}
	if err := json.Unmarshal(raw, &vc); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	got, err := typeList(vc.Type)
	if err != nil {
		return err
	}
	if !slices.Contains(got, "VerifiableCredential") || !slices.ContainsFunc(types, func(t string) bool { return slices.Contains(got, t) }) {
		return fmt.Errorf("not a %s", types[0])
	}
	var proof any
	_ = json.Unmarshal(vc.Proof, &proof)
	switch p := proof.(type) {
	case map[string]any:
		return nil
	case []any:
		if len(p) > 0 {
			return nil
		}
	}
	return errors.New("has no proof: embed signed credentials only")
}

// cloneEndorsements checks and copies embedded endorsements.
func cloneEndorsements(field string, list []json.RawMessage) ([]json.RawMessage, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]json.RawMessage, len(list))
	for i, raw := range list {
		if err := checkSigned(raw, "EndorsementCredential"); err != nil {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
		out[i] = slices.Clone(raw)
	}
	return out, nil
}

// typeList decodes a JSON-LD type (a string or an array of strings).
func typeList(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("type is not a string or an array of strings")
	}
	return many, nil
}

// HashIdentity returns the IdentityHash of identifier with salt, as the OB
// 3.0 spec defines it: "sha256$" + hex(sha256(identifier + salt)).
func HashIdentity(identifier, salt string) string {
	sum := sha256.Sum256([]byte(identifier + salt))
	return "sha256$" + hex.EncodeToString(sum[:])
}

// NormalizeEmail trims and lower-cases an e-mail address before it is
// hashed. A verifier matches a recipient by hashing the address it knows
// with the credential's salt and comparing: "Jean.Dupont@AC-Paris.fr " and
// "jean.dupont@ac-paris.fr" must give the same hash, and verifiers commonly
// lower-case (the domain is case-insensitive and, in practice, so is the
// local part).
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// recipientIdentity returns the subject id and hashed identifiers of r.
func recipientIdentity(field string, r Recipient, salt string) (string, []IdentityObject, error) {
	email := NormalizeEmail(r.Email)
	did := strings.TrimSpace(r.DID)
	if email == "" && did == "" {
		return "", nil, fieldErr(field, "an e-mail address or a DID is required")
	}
	if did != "" {
		if err := checkDID(field+".did", did); err != nil {
			return "", nil, err
		}
	}
	if email != "" {
		if err := checkEmail(field+".email", email); err != nil {
			return "", nil, err
		}
	}
	name := strings.TrimSpace(r.Name)
	if email == "" && name == "" {
		return did, nil, nil
	}
	if salt == "" {
		salt = randomHex(16)
	}
	var ids []IdentityObject
	if email != "" {
		ids = append(ids, IdentityObject{
			Type: "IdentityObject", Hashed: true,
			IdentityHash: HashIdentity(email, salt), IdentityType: "emailAddress", Salt: salt,
		})
	}
	if name != "" {
		// The name is hashed too: a credential shared by link must not
		// disclose who it belongs to unless the viewer already knows.
		ids = append(ids, IdentityObject{
			Type: "IdentityObject", Hashed: true,
			IdentityHash: HashIdentity(name, salt), IdentityType: "name", Salt: salt,
		})
	}
	return did, ids, nil
}

func checkEmail(field, email string) error {
	a, err := mail.ParseAddress(email)
	// ParseAddress accepts "Name <addr>" forms; only a bare address is one.
	if err != nil || a.Address != email || a.Name != "" {
		return fieldErr(field, "%q is not an e-mail address", email)
	}
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || !strings.Contains(email[at:], ".") {
		return fieldErr(field, "%q is not an e-mail address", email)
	}
	return nil
}

func checkDID(field, did string) error {
	// did:<method>:<method-specific-id>, method = lower-case letters and digits.
	rest, ok := strings.CutPrefix(did, "did:")
	method, id, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || method == "" || id == "" || strings.ContainsAny(did, " \t\r\n") {
		return fieldErr(field, "%q is not a DID", did)
	}
	for _, r := range method {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			return fieldErr(field, "%q is not a DID", did)
		}
	}
	return nil
}

// checkURI requires an absolute URI (a scheme and something after it).
func checkURI(field, s string) error {
	if s == "" {
		return fieldErr(field, "is required")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || (u.Opaque == "" && u.Host == "" && u.Path == "") ||
		strings.ContainsAny(s, " \t\r\n") {
		return fieldErr(field, "%q is not an absolute URI", s)
	}
	return nil
}

func credentialID(id string) (string, error) {
	if id == "" {
		return "urn:uuid:" + newUUID(), nil
	}
	if err := checkURI("id", id); err != nil {
		return "", err
	}
	return id, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dateTimeZ formats t as the schema's DateTimeZ, in UTC to the second: the
// form every consumer parses, and stable once signed.
func dateTimeZ(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func validity(from time.Time, until *time.Time) (string, string, error) {
	if from.IsZero() {
		from = time.Now()
	}
	from = from.UTC().Truncate(time.Second)
	if until == nil {
		return dateTimeZ(from), "", nil
	}
	u := until.UTC().Truncate(time.Second)
	if !u.After(from) {
		return "", "", fieldErr("validUntil", "%s is not after validFrom %s", dateTimeZ(u), dateTimeZ(from))
	}
	return dateTimeZ(from), dateTimeZ(u), nil
}

func nonEmptyOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func checkCredits(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fieldErr(field, "must be a finite, non-negative number")
	}
	return nil
}

// normTypes returns types, or def alone when empty; a non-empty list must
// contain def.
func normTypes(field string, types []string, def string) ([]string, error) {
	if len(types) == 0 {
		return []string{def}, nil
	}
	if !slices.Contains(types, def) {
		return nil, fieldErr(field, "must contain %q", def)
	}
	for _, t := range types {
		if t == "" {
			return nil, fieldErr(field, "has an empty type")
		}
	}
	return slices.Clone(types), nil
}

func normProfile(field string, p Profile) (Profile, error) {
	var err error
	if err = checkURI(field+".id", p.ID); err != nil {
		return p, err
	}
	if p.Type, err = normTypes(field+".type", p.Type, "Profile"); err != nil {
		return p, err
	}
	if p.URL != "" {
		if err := checkURI(field+".url", p.URL); err != nil {
			return p, err
		}
	}
	if p.Email != "" {
		if err := checkEmail(field+".email", p.Email); err != nil {
			return p, err
		}
	}
	if p.DateOfBirth != "" {
		if _, err := time.Parse(time.DateOnly, p.DateOfBirth); err != nil {
			return p, fieldErr(field+".dateOfBirth", "%q is not a date (YYYY-MM-DD)", p.DateOfBirth)
		}
	}
	if p.Image, err = normImagePtr(field+".image", p.Image); err != nil {
		return p, err
	}
	if p.Address != nil {
		a := *p.Address
		if a.Type, err = normTypes(field+".address.type", a.Type, "Address"); err != nil {
			return p, err
		}
		if a.Geo != nil {
			g := *a.Geo
			if g.Type == "" {
				g.Type = "GeoCoordinates"
			} else if g.Type != "GeoCoordinates" {
				return p, fieldErr(field+".address.geo.type", "must be %q", "GeoCoordinates")
			}
			if math.IsNaN(g.Latitude) || g.Latitude < -90 || g.Latitude > 90 ||
				math.IsNaN(g.Longitude) || g.Longitude < -180 || g.Longitude > 180 {
				return p, fieldErr(field+".address.geo", "coordinates out of range")
			}
			a.Geo = &g
		}
		p.Address = &a
	}
	if p.OtherIdentifier, err = normIdentifiers(field+".otherIdentifier", p.OtherIdentifier); err != nil {
		return p, err
	}
	if p.ParentOrg != nil {
		parent, err := normProfile(field+".parentOrg", *p.ParentOrg)
		if err != nil {
			return p, err
		}
		p.ParentOrg = &parent
	}
	if err := checkStrings(field+".endorsementJwt", p.EndorsementJwt); err != nil {
		return p, err
	}
	if p.Endorsement, err = cloneEndorsements(field+".endorsement", p.Endorsement); err != nil {
		return p, err
	}
	p.EndorsementJwt = slices.Clone(p.EndorsementJwt)
	return p, nil
}

func normIdentifiers(field string, ids []IdentifierEntry) ([]IdentifierEntry, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]IdentifierEntry, len(ids))
	for i, e := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		if e.Type == "" {
			e.Type = "IdentifierEntry"
		} else if e.Type != "IdentifierEntry" {
			return nil, fieldErr(f+".type", "must be %q", "IdentifierEntry")
		}
		if e.Identifier == "" {
			return nil, fieldErr(f+".identifier", "is required")
		}
		if !inEnumExt(identifierTypes(), e.IdentifierType) {
			return nil, fieldErr(f+".identifierType", "%q is not an identifier type of the spec nor an ext: extension", e.IdentifierType)
		}
		out[i] = e
	}
	return out, nil
}

func normImagePtr(field string, img *Image) (*Image, error) {
	if img == nil {
		return nil, nil
	}
	i := *img
	if i.Type == "" {
		i.Type = "Image"
	} else if i.Type != "Image" {
		return nil, fieldErr(field+".type", "must be %q", "Image")
	}
	if err := checkURI(field+".id", i.ID); err != nil {
		return nil, err
	}
	return &i, nil
}

func normAchievement(field string, a Achievement) (Achievement, error) {
	var err error
	if err = checkURI(field+".id", a.ID); err != nil {
		return a, err
	}
	if a.Type, err = normTypes(field+".type", a.Type, "Achievement"); err != nil {
		return a, err
	}
	if strings.TrimSpace(a.Name) == "" {
		return a, fieldErr(field+".name", "is required")
	}
	if strings.TrimSpace(a.Description) == "" {
		return a, fieldErr(field+".description", "is required")
	}
	if a.Criteria == nil || (a.Criteria.ID == "" && strings.TrimSpace(a.Criteria.Narrative) == "") {
		return a, fieldErr(field+".criteria", "is required: a URL (id) or a narrative")
	}
	crit := *a.Criteria
	if crit.ID != "" {
		if err := checkURI(field+".criteria.id", crit.ID); err != nil {
			return a, err
		}
	}
	a.Criteria = &crit
	if a.AchievementType != "" && !inEnumExt(achievementTypes(), a.AchievementType) {
		return a, fieldErr(field+".achievementType", "%q is not an achievement type of the spec nor an ext: extension", a.AchievementType)
	}
	if a.Alignment, err = normAlignments(field+".alignment", a.Alignment); err != nil {
		return a, err
	}
	if a.Creator != nil {
		c, err := normProfile(field+".creator", *a.Creator)
		if err != nil {
			return a, err
		}
		a.Creator = &c
	}
	if a.CreditsAvailable != nil {
		if err := checkCredits(field+".creditsAvailable", *a.CreditsAvailable); err != nil {
			return a, err
		}
		v := *a.CreditsAvailable
		a.CreditsAvailable = &v
	}
	if a.Image, err = normImagePtr(field+".image", a.Image); err != nil {
		return a, err
	}
	if a.OtherIdentifier, err = normIdentifiers(field+".otherIdentifier", a.OtherIdentifier); err != nil {
		return a, err
	}
	if len(a.Related) > 0 {
		rel := make([]Related, len(a.Related))
		for i, r := range a.Related {
			f := fmt.Sprintf("%s.related[%d]", field, i)
			if err := checkURI(f+".id", r.ID); err != nil {
				return a, err
			}
			if r.Type, err = normTypes(f+".type", r.Type, "Related"); err != nil {
				return a, err
			}
			rel[i] = r
		}
		a.Related = rel
	}
	if a.ResultDescription, err = normResultDescriptions(field+".resultDescription", a.ResultDescription); err != nil {
		return a, err
	}
	if err := checkStrings(field+".tag", a.Tag); err != nil {
		return a, err
	}
	if err := checkStrings(field+".endorsementJwt", a.EndorsementJwt); err != nil {
		return a, err
	}
	a.Tag = slices.Clone(a.Tag)
	if a.Endorsement, err = cloneEndorsements(field+".endorsement", a.Endorsement); err != nil {
		return a, err
	}
	a.EndorsementJwt = slices.Clone(a.EndorsementJwt)
	return a, nil
}

// checkStrings refuses empty members of a list: the schema's "no empty
// values" applies to them too.
func checkStrings(field string, list []string) error {
	for i, s := range list {
		if s == "" {
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), "is empty")
		}
	}
	return nil
}

func normAlignments(field string, al []Alignment) ([]Alignment, error) {
	if len(al) == 0 {
		return nil, nil
	}
	out := make([]Alignment, len(al))
	for i, a := range al {
		f := fmt.Sprintf("%s[%d]", field, i)
		var err error
		if a.Type, err = normTypes(f+".type", a.Type, "Alignment"); err != nil {
			return nil, err
		}
		if strings.TrimSpace(a.TargetName) == "" {
			return nil, fieldErr(f+".targetName", "is required")
		}
		if err := checkURI(f+".targetUrl", a.TargetURL); err != nil {
			return nil, err
		}
		if a.TargetType != "" && !inEnumExt(alignmentTargetTypes(), a.TargetType) {
			return nil, fieldErr(f+".targetType", "%q is not allowed: one of %s, or ext:…", a.TargetType, strings.Join(alignmentTargetTypes(), ", "))
		}
		out[i] = a
	}
	return out, nil
}

func normResultDescriptions(field string, rds []ResultDescription) ([]ResultDescription, error) {
	if len(rds) == 0 {
		return nil, nil
	}
	out := make([]ResultDescription, len(rds))
	seen := make(map[string]bool)
	for i, rd := range rds {
		f := fmt.Sprintf("%s[%d]", field, i)
		var err error
		if err := checkURI(f+".id", rd.ID); err != nil {
			return nil, err
		}
		if seen[rd.ID] {
			return nil, fieldErr(f+".id", "%q is used twice", rd.ID)
		}
		seen[rd.ID] = true
		if rd.Type, err = normTypes(f+".type", rd.Type, "ResultDescription"); err != nil {
			return nil, err
		}
		if strings.TrimSpace(rd.Name) == "" {
			return nil, fieldErr(f+".name", "is required")
		}
		if !inEnumExt(resultTypes(), rd.ResultType) {
			return nil, fieldErr(f+".resultType", "%q is not a result type of the spec nor an ext: extension", rd.ResultType)
		}
		if rd.Alignment, err = normAlignments(f+".alignment", rd.Alignment); err != nil {
			return nil, err
		}
		if err := checkStrings(f+".allowedValue", rd.AllowedValue); err != nil {
			return nil, err
		}
		rd.AllowedValue = slices.Clone(rd.AllowedValue)
		levels := make([]RubricCriterionLevel, len(rd.RubricCriterionLevel))
		for j, l := range rd.RubricCriterionLevel {
			lf := fmt.Sprintf("%s.rubricCriterionLevel[%d]", f, j)
			if err := checkURI(lf+".id", l.ID); err != nil {
				return nil, err
			}
			if l.Type, err = normTypes(lf+".type", l.Type, "RubricCriterionLevel"); err != nil {
				return nil, err
			}
			if strings.TrimSpace(l.Name) == "" {
				return nil, fieldErr(lf+".name", "is required")
			}
			if l.Alignment, err = normAlignments(lf+".alignment", l.Alignment); err != nil {
				return nil, err
			}
			levels[j] = l
		}
		if len(levels) == 0 {
			levels = nil
		}
		rd.RubricCriterionLevel = levels
		if rd.RequiredLevel != "" && !hasLevel(rd, rd.RequiredLevel) {
			return nil, fieldErr(f+".requiredLevel", "%q is not the id of one of its rubricCriterionLevel", rd.RequiredLevel)
		}
		out[i] = rd
	}
	return out, nil
}

func hasLevel(rd ResultDescription, id string) bool {
	return slices.ContainsFunc(rd.RubricCriterionLevel, func(l RubricCriterionLevel) bool { return l.ID == id })
}

// normResults checks results against the achievement's result descriptions:
// a result points to one of them by id, and its achievedLevel to one of that
// description's rubric levels.
func normResults(field string, rs []Result, rds []ResultDescription) ([]Result, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	out := make([]Result, len(rs))
	for i, r := range rs {
		f := fmt.Sprintf("%s[%d]", field, i)
		var err error
		if r.Type, err = normTypes(f+".type", r.Type, "Result"); err != nil {
			return nil, err
		}
		if r.Status != "" && !slices.Contains(resultStatuses(), r.Status) {
			return nil, fieldErr(f+".status", "%q is not one of %s", r.Status, strings.Join(resultStatuses(), ", "))
		}
		var rd *ResultDescription
		if r.ResultDescription != "" {
			k := slices.IndexFunc(rds, func(d ResultDescription) bool { return d.ID == r.ResultDescription })
			if k < 0 {
				return nil, fieldErr(f+".resultDescription", "%q is not the id of a resultDescription of the achievement", r.ResultDescription)
			}
			rd = &rds[k]
		}
		if r.AchievedLevel != "" {
			if rd == nil || !hasLevel(*rd, r.AchievedLevel) {
				return nil, fieldErr(f+".achievedLevel", "%q is not the id of a rubricCriterionLevel of its resultDescription", r.AchievedLevel)
			}
		}
		if rd != nil && rd.ResultType == "Status" && r.Status == "" {
			return nil, fieldErr(f+".status", "is required when the result type is Status")
		}
		if r.Alignment, err = normAlignments(f+".alignment", r.Alignment); err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func normEvidence(field string, ev []Evidence) ([]Evidence, error) {
	if len(ev) == 0 {
		return nil, nil
	}
	out := make([]Evidence, len(ev))
	for i, e := range ev {
		f := fmt.Sprintf("%s[%d]", field, i)
		var err error
		if e.Type, err = normTypes(f+".type", e.Type, "Evidence"); err != nil {
			return nil, err
		}
		if e.ID != "" {
			if err := checkURI(f+".id", e.ID); err != nil {
				return nil, err
			}
		}
		out[i] = e
	}
	return out, nil
}

func normStatus(field string, s *CredentialStatus) (*CredentialStatus, error) {
	if s == nil {
		return nil, nil
	}
	st := *s
	if err := checkURI(field+".id", st.ID); err != nil {
		return nil, err
	}
	if st.Type == "" {
		return nil, fieldErr(field+".type", "is required")
	}
	if st.Type == "BitstringStatusListEntry" {
		if st.StatusPurpose == "" {
			return nil, fieldErr(field+".statusPurpose", "is required")
		}
		if _, err := strconv.ParseUint(st.StatusListIndex, 10, 64); err != nil {
			return nil, fieldErr(field+".statusListIndex", "%q is not a base-10 non-negative integer", st.StatusListIndex)
		}
		if err := checkURI(field+".statusListCredential", st.StatusListCredential); err != nil {
			return nil, err
		}
	}
	if st.StatusSize != nil {
		v := *st.StatusSize
		st.StatusSize = &v
	}
	if st.Extra != nil {
		extra := make(map[string]any, len(st.Extra))
		for k, v := range st.Extra {
			extra[k] = v
		}
		st.Extra = extra
	}
	return &st, nil
}

// checkDocument runs the checks that apply to the JSON form of a built
// credential as a whole: control characters anywhere, in any string.
func checkDocument(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return CheckControlChars(doc)
}

// CheckControlChars refuses C0 control characters other than tab, line feed
// and carriage return, and U+007F, in any string or member name of a decoded
// JSON value (map[string]any, []any, string, float64, json.Number, bool,
// nil). RDFC-1.0 canonical N-Quads escape these characters, json-gold does
// not, so a credential containing them would canonicalize differently in
// different implementations and its signature would not verify elsewhere.
// The error is a *FieldError whose Field is the JSON pointer of the value.
func CheckControlChars(v any) error {
	return checkControl("", v)
}

func checkControl(ptr string, v any) error {
	switch x := v.(type) {
	case nil, bool, float64, json.Number, int, int64:
		return nil
	case string:
		if reason := controlReason(x); reason != "" {
			return &FieldError{Field: pointerOrRoot(ptr), Reason: reason}
		}
		return nil
	case []any:
		for i, e := range x {
			if err := checkControl(ptr+"/"+strconv.Itoa(i), e); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // report the same violation every time
		for _, k := range keys {
			p := ptr + "/" + escapePointer(k)
			if reason := controlReason(k); reason != "" {
				return &FieldError{Field: p, Reason: "member name: " + reason}
			}
			if err := checkControl(p, x[k]); err != nil {
				return err
			}
		}
		return nil
	default:
		return &FieldError{Field: pointerOrRoot(ptr), Reason: fmt.Sprintf("unsupported value of type %T (want decoded JSON)", v)}
	}
}

// controlReason says what is wrong with s, or "" when nothing is.
func controlReason(s string) string {
	for i, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return fmt.Sprintf("control character U+%04X at byte %d is not allowed (canonicalization would not be portable)", r, i)
		}
		if r == utf8.RuneError && !validRuneAt(s, i) {
			return fmt.Sprintf("invalid UTF-8 at byte %d", i)
		}
	}
	return ""
}

func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3 // a literal U+FFFD, not a decoding error
}

func pointerOrRoot(ptr string) string {
	if ptr == "" {
		return "/"
	}
	return ptr
}

// escapePointer escapes a member name for a JSON pointer (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// inEnumExt reports whether v is in the spec enumeration or an extension
// term "ext:Name". The schema's pattern is unanchored; this is stricter so
// that what Insigne issues is unambiguous.
func inEnumExt(enum []string, v string) bool {
	if slices.Contains(enum, v) {
		return true
	}
	name, ok := strings.CutPrefix(v, "ext:")
	if !ok || name == "" {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Spec enumerations (OB 3.0 and CLR 2.0, as in the 1EdTech JSON Schema).
// Functions rather than package variables so that nothing can modify them.

func achievementTypes() []string {
	return []string{
		"Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree",
		"Award", "Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion", "Certification",
		"CommunityService", "Competency", "Course", "CoCurricular", "Degree", "Diploma", "DoctoralDegree",
		"Fieldwork", "GeneralEducationDevelopment", "JourneymanCertificate", "LearningProgram", "License",
		"Membership", "ProfessionalDoctorate", "QualityAssuranceCredential", "MasterCertificate",
		"MasterDegree", "MicroCredential", "ResearchDoctorate", "SecondarySchoolDiploma",
	}
}

func alignmentTargetTypes() []string {
	return []string{
		"ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion",
		"CFRubricCriterionLevel", "CTDL",
	}
}

func identifierTypes() []string {
	return []string{
		"name", "sourcedId", "systemId", "productId", "userName", "accountId", "emailAddress",
		"nationalIdentityNumber", "isbn", "issn", "lisSourcedId", "oneRosterSourcedId", "sisSourcedId",
		"ltiContextId", "ltiDeploymentId", "ltiToolId", "ltiPlatformId", "ltiUserId", "identifier",
	}
}

func resultTypes() []string {
	return []string{
		"GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "PredictedScore", "RawScore",
		"Result", "RubricCriterion", "RubricCriterionLevel", "RubricScore", "ScaledScore", "Status",
	}
}

func resultStatuses() []string {
	return []string{"Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"}
}

func associationTypes() []string {
	return []string{
		"exactMatchOf", "isChildOf", "isParentOf", "isPartOf", "isPeerOf", "isRelatedTo", "precedes", "replacedBy",
	}
}
