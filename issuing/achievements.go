package issuing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insigne/insigne/badges"
)

// AchievementSpec is an achievement as administrators write it: the OB 3.0
// Achievement fields (its id and creator are Insigne's to set) and how long
// credentials stay valid.
type AchievementSpec struct {
	badges.Achievement
	// ValidForDays, when set, gives every credential a validUntil that many
	// days after its issue.
	ValidForDays int `json:"validForDays,omitempty"`
	// RequireSecondAssessor makes every award of the achievement wait for
	// a second assessor's approval: it cannot be awarded directly.
	RequireSecondAssessor bool `json:"requireSecondAssessor,omitempty"`
}

// check validates a spec the surest way: by building a credential with it,
// so that whatever issuance would refuse is refused now, naming the field.
func (s *Service) checkSpec(iss *Issuer, spec AchievementSpec) error {
	if strings.TrimSpace(spec.Name) == "" {
		return inputErr("name", "is required")
	}
	if spec.Criteria == nil || (spec.Criteria.Narrative == "" && spec.Criteria.ID == "") {
		return inputErr("criteria", "needs a narrative or an id (URL)")
	}
	if spec.ValidForDays < 0 || spec.ValidForDays > 36500 {
		return inputErr("validForDays", "must be between 0 and 36500")
	}
	if spec.Image != nil && !strings.HasPrefix(spec.Image.ID, "data:image/") {
		if err := checkHTTPURL("image.id", spec.Image.ID); err != nil || spec.Image.ID == "" {
			return inputErr("image.id", "must be an http(s) URL or a data:image/ URL")
		}
	}
	if spec.ID != "" || spec.Creator != nil {
		return inputErr("id", "id and creator are set by Insigne")
	}
	a := s.achievementDoc("00000000-0000-4000-8000-000000000000", iss, spec)
	_, err := badges.BuildAchievementCredential(badges.AwardParams{
		Issuer: s.profile(iss), Achievement: a,
		Recipient: badges.Recipient{Email: "check@example.org"},
	})
	if err != nil {
		if in := asInputError(err, "credentialSubject.achievement.", ""); in != err {
			return in
		}
		return &InputError{Reason: err.Error()}
	}
	return nil
}

// profile is the issuer as credentials name it.
func (s *Service) profile(iss *Issuer) badges.Profile {
	p := badges.Profile{ID: s.IssuerID(iss.Slug), Type: []string{"Profile"}, Name: iss.Name, URL: iss.URL, Email: iss.Email, Description: iss.Description}
	if iss.ImageURL != "" {
		p.Image = &badges.Image{ID: iss.ImageURL, Type: "Image"}
	}
	return p
}

func (s *Service) achievementDoc(id string, iss *Issuer, spec AchievementSpec) badges.Achievement {
	a := spec.Achievement
	a.ID = s.AchievementURL(id)
	if len(a.Type) == 0 {
		a.Type = []string{"Achievement"}
	}
	creator := s.profile(iss)
	a.Creator = &creator
	return a
}

// CreateAchievement adds a badge class to an issuer.
func (s *Service) CreateAchievement(ctx context.Context, actor, slug string, spec AchievementSpec) (*Achievement, error) {
	return s.createAchievement(ctx, actor, slug, "", spec)
}

// FindOrCreateAchievement returns the issuer's achievement made under key,
// creating it from spec when there is none: a caller that makes
// achievements on the fly (one per training) gets one per key however many
// requests race, as the store keeps a key once per issuer. The one found
// may have been edited since; created tells which happened.
func (s *Service) FindOrCreateAchievement(ctx context.Context, actor, slug, key string, spec AchievementSpec) (a *Achievement, created bool, err error) {
	if key == "" {
		return nil, false, fmt.Errorf("find or create achievement: no key")
	}
	a, err = s.store.AchievementByKey(ctx, slug, key)
	if err == nil {
		return a, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	a, err = s.createAchievement(ctx, actor, slug, key, spec)
	if errors.Is(err, ErrConflict) {
		// Another request created it meanwhile: its achievement is ours.
		if a, err := s.store.AchievementByKey(ctx, slug, key); err == nil {
			return a, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return a, true, nil
}

func (s *Service) createAchievement(ctx context.Context, actor, slug, key string, spec AchievementSpec) (*Achievement, error) {
	iss, err := s.store.Issuer(ctx, slug)
	if err != nil {
		return nil, err
	}
	if err := s.checkSpec(iss, spec); err != nil {
		return nil, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	a := Achievement{ID: newUUID(), Issuer: slug, Version: 1, Data: data, CreatedAt: s.now(), Key: key}
	if err := s.store.CreateAchievement(ctx, a, AuditEntry{At: s.now(), Actor: actor, Action: "achievement.create", Issuer: slug, Target: s.AchievementURL(a.ID)}); err != nil {
		return nil, fmt.Errorf("create achievement: %w", err)
	}
	return &a, nil
}

// UpdateAchievement edits a badge class. Once it has been awarded, the edit
// makes a new version: credentials keep the version they were issued with.
func (s *Service) UpdateAchievement(ctx context.Context, actor, id string, spec AchievementSpec) (*Achievement, error) {
	cur, err := s.store.Achievement(ctx, id)
	if err != nil {
		return nil, err
	}
	iss, err := s.store.Issuer(ctx, cur.Issuer)
	if err != nil {
		return nil, err
	}
	if err := s.checkSpec(iss, spec); err != nil {
		return nil, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	a := Achievement{ID: id, Issuer: cur.Issuer, Data: data, CreatedAt: s.now()}
	v, err := s.store.UpdateAchievement(ctx, a, AuditEntry{At: s.now(), Actor: actor, Action: "achievement.update", Issuer: cur.Issuer, Target: s.AchievementURL(id)})
	if err != nil {
		return nil, fmt.Errorf("update achievement: %w", err)
	}
	a.Version = v
	return &a, nil
}

// Achievement returns the latest version of an achievement.
func (s *Service) Achievement(ctx context.Context, id string) (*Achievement, error) {
	return s.store.Achievement(ctx, id)
}

// Achievements lists an issuer's achievements (latest versions).
func (s *Service) Achievements(ctx context.Context, slug string) ([]Achievement, error) {
	return s.store.Achievements(ctx, slug)
}

// Spec decodes an achievement's stored spec.
func (a *Achievement) Spec() (AchievementSpec, error) {
	var spec AchievementSpec
	if err := json.Unmarshal(a.Data, &spec); err != nil {
		return spec, fmt.Errorf("achievement %s version %d: %w", a.ID, a.Version, err)
	}
	return spec, nil
}

// AchievementDocument is the public OB 3.0 Achievement at its id; version 0
// means the latest.
func (s *Service) AchievementDocument(ctx context.Context, id string, version int) (map[string]any, error) {
	var a *Achievement
	var err error
	if version > 0 {
		a, err = s.store.AchievementVersion(ctx, id, version)
	} else {
		a, err = s.store.Achievement(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	iss, err := s.store.Issuer(ctx, a.Issuer)
	if err != nil {
		return nil, err
	}
	spec, err := a.Spec()
	if err != nil {
		return nil, err
	}
	doc := s.achievementDoc(a.ID, iss, spec)
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	out["@context"] = []string{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"}
	out["version"] = fmt.Sprint(a.Version)
	return out, nil
}

func (spec AchievementSpec) validUntil(from time.Time) *time.Time {
	if spec.ValidForDays == 0 {
		return nil
	}
	t := from.AddDate(0, 0, spec.ValidForDays)
	return &t
}
