// Package badges holds the Open Badges 3.0 / CLR 2.0 data model (on the
// W3C Verifiable Credentials Data Model 2.0), the builders that issue
// credentials and their validation against the 1EdTech JSON Schemas.
//
// The Go types serialize exactly as the 1EdTech JSON Schema demands:
// multi-valued properties and `type` are JSON arrays (except for Image,
// IdentityObject, IdentifierEntry and GeoCoordinates whose `type` is a
// single string), nothing is null and empty values are omitted. Verification
// works on the raw JSON, not on these types: decoding a received credential
// into them is lossy (unknown properties are dropped).
package badges

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Embedded endorsements (the `endorsement` properties) are signed
// EndorsementCredentials, kept as raw JSON like the credentials of a CLR:
// decoding and re-encoding them through Go types could drop properties and
// break their proofs.

// Dates (validFrom, validUntil, awardedDate, activityStartDate…) are kept as
// strings in the DateTimeZ form the builder produced ("2024-05-01T08:00:00Z"):
// re-formatting a date after signing would change the signed bytes.

// AchievementCredential is an Open Badges 3.0 credential. In context-3.0.3
// "AchievementCredential" is an alias of "OpenBadgeCredential".
//
// It deliberately has no issuanceDate/expirationDate (VCDM 1.1 terms that are
// undefined in the OB 3.0 context), no jti and no top-level endorsementJwt
// (undefined at top level in the spec copy of context-3.0.3): a credential
// built from this type cannot carry them.
type AchievementCredential struct {
	Context           []any              `json:"@context,omitempty"`
	ID                string             `json:"id,omitempty"`
	Type              []string           `json:"type,omitempty"`
	Name              string             `json:"name,omitempty"`
	Description       string             `json:"description,omitempty"`
	Image             *Image             `json:"image,omitempty"`
	AwardedDate       string             `json:"awardedDate,omitempty"`
	CredentialSubject AchievementSubject `json:"credentialSubject,omitzero"`
	Endorsement       []json.RawMessage  `json:"endorsement,omitempty"`
	Evidence          []Evidence         `json:"evidence,omitempty"`
	Issuer            ProfileRef         `json:"issuer,omitzero"`
	ValidFrom         string             `json:"validFrom,omitempty"`
	ValidUntil        string             `json:"validUntil,omitempty"`
	Proof             []Proof            `json:"proof,omitempty"`
	CredentialSchema  []CredentialSchema `json:"credentialSchema,omitempty"`
	CredentialStatus  *CredentialStatus  `json:"credentialStatus,omitempty"`
	RefreshService    *RefreshService    `json:"refreshService,omitempty"`
	TermsOfUse        []TermsOfUse       `json:"termsOfUse,omitempty"`
}

// OpenBadgeCredential is the other name of AchievementCredential.
type OpenBadgeCredential = AchievementCredential

// ProfileRef is the issuer of a credential. The schema allows a bare URI or
// a Profile object; Insigne always issues the object (the spec's examples do,
// and displayers need the name) but accepts a bare URI when decoding.
type ProfileRef struct {
	Profile
	// URIOnly records that the issuer was a bare URI string, so that it is
	// encoded back the same way (only Profile.ID is then meaningful).
	URIOnly bool `json:"-"`
}

// MarshalJSON encodes the issuer as a Profile object, or as its URI when it
// was decoded from one.
func (r ProfileRef) MarshalJSON() ([]byte, error) {
	if r.URIOnly {
		return json.Marshal(r.ID)
	}
	return json.Marshal(r.Profile)
}

// UnmarshalJSON accepts a URI string or a Profile object.
func (r *ProfileRef) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var id string
		if err := json.Unmarshal(data, &id); err != nil {
			return fmt.Errorf("issuer: %w", err)
		}
		*r = ProfileRef{Profile: Profile{ID: id}, URIOnly: true}
		return nil
	}
	var p Profile
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	*r = ProfileRef{Profile: p}
	return nil
}

// Profile describes an issuer, creator, source, endorser or parent
// organisation. Type must contain "Profile".
type Profile struct {
	ID               string            `json:"id,omitempty"`
	Type             []string          `json:"type,omitempty"`
	Name             string            `json:"name,omitempty"`
	URL              string            `json:"url,omitempty"`
	Phone            string            `json:"phone,omitempty"`
	Description      string            `json:"description,omitempty"`
	Endorsement      []json.RawMessage `json:"endorsement,omitempty"`
	EndorsementJwt   []string          `json:"endorsementJwt,omitempty"`
	Image            *Image            `json:"image,omitempty"`
	Email            string            `json:"email,omitempty"`
	Address          *Address          `json:"address,omitempty"`
	OtherIdentifier  []IdentifierEntry `json:"otherIdentifier,omitempty"`
	Official         string            `json:"official,omitempty"`
	ParentOrg        *Profile          `json:"parentOrg,omitempty"`
	FamilyName       string            `json:"familyName,omitempty"`
	GivenName        string            `json:"givenName,omitempty"`
	AdditionalName   string            `json:"additionalName,omitempty"`
	PatronymicName   string            `json:"patronymicName,omitempty"`
	HonorificPrefix  string            `json:"honorificPrefix,omitempty"`
	HonorificSuffix  string            `json:"honorificSuffix,omitempty"`
	FamilyNamePrefix string            `json:"familyNamePrefix,omitempty"`
	DateOfBirth      string            `json:"dateOfBirth,omitempty"` // full-date, "2006-01-02"
}

// Address is a postal address. Type must contain "Address".
type Address struct {
	Type                []string        `json:"type,omitempty"`
	AddressCountry      string          `json:"addressCountry,omitempty"`
	AddressCountryCode  string          `json:"addressCountryCode,omitempty"`
	AddressRegion       string          `json:"addressRegion,omitempty"`
	AddressLocality     string          `json:"addressLocality,omitempty"`
	StreetAddress       string          `json:"streetAddress,omitempty"`
	PostOfficeBoxNumber string          `json:"postOfficeBoxNumber,omitempty"`
	PostalCode          string          `json:"postalCode,omitempty"`
	Geo                 *GeoCoordinates `json:"geo,omitempty"`
}

// GeoCoordinates is a point; latitude and longitude are required, and 0 is a
// real coordinate, so they are always encoded.
type GeoCoordinates struct {
	Type      string  `json:"type,omitempty"` // "GeoCoordinates"
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// IdentifierEntry is another identifier of a Profile or Achievement.
type IdentifierEntry struct {
	Type           string `json:"type,omitempty"` // "IdentifierEntry"
	Identifier     string `json:"identifier,omitempty"`
	IdentifierType string `json:"identifierType,omitempty"`
}

// Achievement is what the credential attests (the "badge class").
type Achievement struct {
	ID                string              `json:"id,omitempty"`
	Type              []string            `json:"type,omitempty"`
	Alignment         []Alignment         `json:"alignment,omitempty"`
	AchievementType   string              `json:"achievementType,omitempty"`
	Creator           *Profile            `json:"creator,omitempty"`
	CreditsAvailable  *float64            `json:"creditsAvailable,omitempty"`
	Criteria          *Criteria           `json:"criteria,omitempty"`
	Description       string              `json:"description,omitempty"`
	Endorsement       []json.RawMessage   `json:"endorsement,omitempty"`
	EndorsementJwt    []string            `json:"endorsementJwt,omitempty"`
	FieldOfStudy      string              `json:"fieldOfStudy,omitempty"`
	HumanCode         string              `json:"humanCode,omitempty"`
	Image             *Image              `json:"image,omitempty"`
	InLanguage        string              `json:"inLanguage,omitempty"`
	Name              string              `json:"name,omitempty"`
	OtherIdentifier   []IdentifierEntry   `json:"otherIdentifier,omitempty"`
	Related           []Related           `json:"related,omitempty"`
	ResultDescription []ResultDescription `json:"resultDescription,omitempty"`
	Specialization    string              `json:"specialization,omitempty"`
	Tag               []string            `json:"tag,omitempty"`
	Version           string              `json:"version,omitempty"`
}

// AchievementSubject is the recipient of an AchievementCredential: it needs
// an id or at least one identifier.
type AchievementSubject struct {
	ID                string           `json:"id,omitempty"`
	Type              []string         `json:"type,omitempty"`
	ActivityEndDate   string           `json:"activityEndDate,omitempty"`
	ActivityStartDate string           `json:"activityStartDate,omitempty"`
	CreditsEarned     *float64         `json:"creditsEarned,omitempty"`
	Achievement       *Achievement     `json:"achievement,omitempty"`
	Identifier        []IdentityObject `json:"identifier,omitempty"`
	Image             *Image           `json:"image,omitempty"`
	LicenseNumber     string           `json:"licenseNumber,omitempty"`
	Narrative         string           `json:"narrative,omitempty"`
	Result            []Result         `json:"result,omitempty"`
	Role              string           `json:"role,omitempty"`
	Source            *Profile         `json:"source,omitempty"`
	Term              string           `json:"term,omitempty"`
}

// IdentityObject identifies a recipient, usually by a salted hash. Hashed is
// required by the schema even when false, so it is always encoded.
type IdentityObject struct {
	Type         string `json:"type,omitempty"` // "IdentityObject"
	Hashed       bool   `json:"hashed"`
	IdentityHash string `json:"identityHash,omitempty"`
	IdentityType string `json:"identityType,omitempty"`
	Salt         string `json:"salt,omitempty"`
}

// Alignment links an achievement, result or rubric level to a framework item.
type Alignment struct {
	Type              []string `json:"type,omitempty"`
	TargetCode        string   `json:"targetCode,omitempty"`
	TargetDescription string   `json:"targetDescription,omitempty"`
	TargetName        string   `json:"targetName,omitempty"`
	TargetFramework   string   `json:"targetFramework,omitempty"`
	TargetType        string   `json:"targetType,omitempty"`
	TargetURL         string   `json:"targetUrl,omitempty"`
}

// Criteria says how the achievement is earned: a URL of a human-readable
// page (ID), a Markdown narrative, or both. It has no type.
type Criteria struct {
	ID        string `json:"id,omitempty"`
	Narrative string `json:"narrative,omitempty"`
}

// Evidence supports the award.
type Evidence struct {
	ID          string   `json:"id,omitempty"`
	Type        []string `json:"type,omitempty"`
	Narrative   string   `json:"narrative,omitempty"`
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Genre       string   `json:"genre,omitempty"`
	Audience    string   `json:"audience,omitempty"`
}

// Result is what the recipient obtained against a ResultDescription of the
// achievement (referenced by its id).
type Result struct {
	Type              []string    `json:"type,omitempty"`
	AchievedLevel     string      `json:"achievedLevel,omitempty"`
	Alignment         []Alignment `json:"alignment,omitempty"`
	ResultDescription string      `json:"resultDescription,omitempty"`
	Status            string      `json:"status,omitempty"`
	Value             string      `json:"value,omitempty"`
}

// ResultDescription describes a possible result of an achievement.
// AllowedValue is ordered (an @list in context 3.0.2 and later).
type ResultDescription struct {
	ID                   string                 `json:"id,omitempty"`
	Type                 []string               `json:"type,omitempty"`
	Alignment            []Alignment            `json:"alignment,omitempty"`
	AllowedValue         []string               `json:"allowedValue,omitempty"`
	Name                 string                 `json:"name,omitempty"`
	RequiredLevel        string                 `json:"requiredLevel,omitempty"`
	RequiredValue        string                 `json:"requiredValue,omitempty"`
	ResultType           string                 `json:"resultType,omitempty"`
	RubricCriterionLevel []RubricCriterionLevel `json:"rubricCriterionLevel,omitempty"`
	ValueMax             string                 `json:"valueMax,omitempty"`
	ValueMin             string                 `json:"valueMin,omitempty"`
}

// RubricCriterionLevel is one level of a rubric criterion.
type RubricCriterionLevel struct {
	ID          string      `json:"id,omitempty"`
	Type        []string    `json:"type,omitempty"`
	Alignment   []Alignment `json:"alignment,omitempty"`
	Description string      `json:"description,omitempty"`
	Level       string      `json:"level,omitempty"`
	Name        string      `json:"name,omitempty"`
	Points      string      `json:"points,omitempty"`
}

// Image is a picture by URL or data: URI. Its type is the single string
// "Image" and the schema forbids any other property.
type Image struct {
	ID      string `json:"id,omitempty"`
	Type    string `json:"type,omitempty"` // "Image"
	Caption string `json:"caption,omitempty"`
}

// Related points to a version of the achievement in another language or
// another version.
type Related struct {
	ID         string   `json:"id,omitempty"`
	Type       []string `json:"type,omitempty"`
	InLanguage string   `json:"inLanguage,omitempty"`
	Version    string   `json:"version,omitempty"`
}

// EndorsementCredential is a claim by a third party about a profile,
// achievement or credential.
type EndorsementCredential struct {
	Context           []any              `json:"@context,omitempty"`
	ID                string             `json:"id,omitempty"`
	Type              []string           `json:"type,omitempty"`
	Name              string             `json:"name,omitempty"`
	Description       string             `json:"description,omitempty"`
	CredentialSubject EndorsementSubject `json:"credentialSubject,omitzero"`
	AwardedDate       string             `json:"awardedDate,omitempty"`
	Issuer            ProfileRef         `json:"issuer,omitzero"`
	ValidFrom         string             `json:"validFrom,omitempty"`
	ValidUntil        string             `json:"validUntil,omitempty"`
	Proof             []Proof            `json:"proof,omitempty"`
	CredentialSchema  []CredentialSchema `json:"credentialSchema,omitempty"`
	CredentialStatus  *CredentialStatus  `json:"credentialStatus,omitempty"`
	RefreshService    *RefreshService    `json:"refreshService,omitempty"`
	TermsOfUse        []TermsOfUse       `json:"termsOfUse,omitempty"`
}

// EndorsementSubject is the endorsed entity (its id) and the comment.
type EndorsementSubject struct {
	ID                 string   `json:"id,omitempty"`
	Type               []string `json:"type,omitempty"`
	EndorsementComment string   `json:"endorsementComment,omitempty"`
}

// ClrCredential is a CLR 2.0 Comprehensive Learner Record: a set of signed
// AchievementCredentials about one learner, itself signed.
type ClrCredential struct {
	Context           []any              `json:"@context,omitempty"`
	ID                string             `json:"id,omitempty"`
	Type              []string           `json:"type,omitempty"`
	Name              string             `json:"name,omitempty"`
	Description       string             `json:"description,omitempty"`
	Image             *Image             `json:"image,omitempty"`
	Partial           *bool              `json:"partial,omitempty"`
	CredentialSubject ClrSubject         `json:"credentialSubject,omitzero"`
	Endorsement       []json.RawMessage  `json:"endorsement,omitempty"`
	Issuer            ProfileRef         `json:"issuer,omitzero"`
	ValidFrom         string             `json:"validFrom,omitempty"`
	ValidUntil        string             `json:"validUntil,omitempty"`
	Proof             []Proof            `json:"proof,omitempty"`
	CredentialSchema  []CredentialSchema `json:"credentialSchema,omitempty"`
	CredentialStatus  *CredentialStatus  `json:"credentialStatus,omitempty"`
	RefreshService    *RefreshService    `json:"refreshService,omitempty"`
	TermsOfUse        []TermsOfUse       `json:"termsOfUse,omitempty"`
}

// ClrSubject is the learner of a CLR. VerifiableCredential holds the signed
// credentials verbatim: decoding and re-encoding them through Go types could
// drop properties and break their proofs.
type ClrSubject struct {
	ID                   string            `json:"id,omitempty"`
	Type                 []string          `json:"type,omitempty"`
	Identifier           []IdentityObject  `json:"identifier,omitempty"`
	Achievement          []Achievement     `json:"achievement,omitempty"`
	VerifiableCredential []json.RawMessage `json:"verifiableCredential,omitempty"`
	Association          []Association     `json:"association,omitempty"`
}

// Association relates two achievements of a CLR (by their ids).
type Association struct {
	Type            string `json:"type,omitempty"` // "Association"
	AssociationType string `json:"associationType,omitempty"`
	SourceID        string `json:"sourceId,omitempty"`
	TargetID        string `json:"targetId,omitempty"`
}

// CredentialStatus points to the status (revocation, suspension) of a
// credential. The BitstringStatusListEntry fields have their own members;
// anything else (other status methods) is kept in Extra.
type CredentialStatus struct {
	ID   string
	Type string
	// BitstringStatusListEntry. StatusListIndex is a base-10 string as the
	// W3C recommendation says; a JSON number (seen in 1EdTech examples) is
	// accepted when decoding and converted.
	StatusPurpose        string
	StatusListIndex      string
	StatusListCredential string
	StatusSize           *int
	// Extra holds the other members, by name. Names above take precedence.
	Extra map[string]any
}

// MarshalJSON encodes the known members and Extra as one object.
func (s CredentialStatus) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(s.Extra)+6)
	for k, v := range s.Extra {
		if !isKnownStatusMember(k) {
			m[k] = v
		}
	}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("id", s.ID)
	put("type", s.Type)
	put("statusPurpose", s.StatusPurpose)
	put("statusListIndex", s.StatusListIndex)
	put("statusListCredential", s.StatusListCredential)
	if s.StatusSize != nil {
		m["statusSize"] = *s.StatusSize
	}
	return json.Marshal(m)
}

func isKnownStatusMember(k string) bool {
	switch k {
	case "id", "type", "statusPurpose", "statusListIndex", "statusListCredential", "statusSize":
		return true
	}
	return false
}

// UnmarshalJSON decodes the known members and keeps the others in Extra.
func (s *CredentialStatus) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("credentialStatus: %w", err)
	}
	var out CredentialStatus
	for k, dst := range map[string]*string{
		"id": &out.ID, "type": &out.Type, "statusPurpose": &out.StatusPurpose,
		"statusListCredential": &out.StatusListCredential,
	} {
		if v, ok := raw[k]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("credentialStatus.%s: %w", k, err)
			}
		}
	}
	if v, ok := raw["statusListIndex"]; ok {
		v = bytes.TrimSpace(v)
		if len(v) > 0 && v[0] == '"' {
			if err := json.Unmarshal(v, &out.StatusListIndex); err != nil {
				return fmt.Errorf("credentialStatus.statusListIndex: %w", err)
			}
		} else {
			// A JSON number: keep its decimal digits, as the string form would.
			if _, err := strconv.ParseUint(string(v), 10, 64); err != nil {
				return fmt.Errorf("credentialStatus.statusListIndex: %s is not a non-negative integer", v)
			}
			out.StatusListIndex = string(v)
		}
	}
	if v, ok := raw["statusSize"]; ok {
		var n int
		if err := json.Unmarshal(v, &n); err != nil {
			return fmt.Errorf("credentialStatus.statusSize: %w", err)
		}
		out.StatusSize = &n
	}
	for k, v := range raw {
		if isKnownStatusMember(k) {
			continue
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("credentialStatus.%s: %w", k, err)
		}
		if out.Extra == nil {
			out.Extra = make(map[string]any)
		}
		out.Extra[k] = x
	}
	*s = out
	return nil
}

// CredentialSchema names a JSON Schema the credential conforms to.
type CredentialSchema struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type,omitempty"` // "1EdTechJsonSchemaValidator2019"
}

// RefreshService tells where a fresher copy of the credential can be had.
type RefreshService struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type,omitempty"` // "1EdTechCredentialRefresh"
}

// TermsOfUse are policies under which the credential was issued.
type TermsOfUse struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type,omitempty"`
}

// Proof is an embedded Data Integrity proof.
type Proof struct {
	Type               string `json:"type,omitempty"`
	Created            string `json:"created,omitempty"`
	Cryptosuite        string `json:"cryptosuite,omitempty"`
	Challenge          string `json:"challenge,omitempty"`
	Domain             string `json:"domain,omitempty"`
	Nonce              string `json:"nonce,omitempty"`
	ProofPurpose       string `json:"proofPurpose,omitempty"`
	ProofValue         string `json:"proofValue,omitempty"`
	VerificationMethod string `json:"verificationMethod,omitempty"`
}
