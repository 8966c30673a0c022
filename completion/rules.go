package completion

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/issuing"
)

// achievement resolves an achievement reference (URL or uuid) to the
// stored achievement, as an input error naming field when it is unknown.
func (s *Service) achievement(ctx context.Context, field, ref string) (*issuing.Achievement, error) {
	id, err := s.iss.AchievementIDFrom(ref)
	if err != nil {
		return nil, inputErr(field, "must be an achievement URL of this service or its uuid")
	}
	a, err := s.iss.Achievement(ctx, id)
	if errors.Is(err, issuing.ErrNotFound) {
		return nil, inputErr(field, "no achievement %s", id)
	}
	return a, err
}

// NewMapping checks a mapping and resolves its achievement; the caller
// authorizes against its Issuer, then saves it with SaveMapping.
func (s *Service) NewMapping(ctx context.Context, in MappingInput) (*Mapping, error) {
	kind := in.Kind
	if kind == "" {
		kind = KindXAPI
	}
	if !slices.Contains(Kinds, kind) {
		return nil, inputErr("kind", "must be one of %s", strings.Join(Kinds, ", "))
	}
	v := in.Activity
	switch {
	case v == "":
		return nil, inputErr("activity", "is required: the activity's identifier")
	case len(v) > 2000:
		return nil, inputErr("activity", "is longer than 2000 characters")
	case strings.TrimSpace(v) != v || strings.ContainsFunc(v, unicode.IsControl):
		return nil, inputErr("activity", "may not hold control characters nor start or end with spaces")
	}
	if kind == KindXAPI {
		// What Record accepts as an activity id, so that the mapping can match.
		if _, err := normalize("", Completion{Source: "check", Learner: Learner{Email: "check@example.org"}, Activity: Activity{ID: v},
			Completed: true, At: s.now()}, s.now()); err != nil {
			return nil, inputErr("activity", "an xAPI activity id must be an absolute IRI (or say which identifier this is in kind)")
		}
	}
	a, err := s.achievement(ctx, "achievement", in.Achievement)
	if err != nil {
		return nil, err
	}
	m := &Mapping{ID: newUUID(), Issuer: a.Issuer, AchievementID: a.ID, Kind: kind, Value: v, CreatedAt: s.now().UTC()}
	if c := in.Conditions; c != nil {
		if c.MinScore != nil && (math.IsNaN(*c.MinScore) || *c.MinScore < 0 || *c.MinScore > 1) {
			return nil, inputErr("conditions.minScore", "must be a scaled score between 0 and 1")
		}
		if c.From != nil && c.Until != nil && c.Until.Before(*c.From) {
			return nil, inputErr("conditions.until", "is before conditions.from")
		}
		m.Conditions = *c
		if c.From != nil {
			t := c.From.UTC()
			m.Conditions.From = &t
		}
		if c.Until != nil {
			t := c.Until.UTC()
			m.Conditions.Until = &t
		}
	}
	return m, nil
}

// SaveMapping stores a mapping made by NewMapping.
func (s *Service) SaveMapping(ctx context.Context, actor string, m *Mapping) error {
	m.CreatedBy = actor
	return s.store.CreateMapping(ctx, *m, issuing.AuditEntry{At: s.now(), Actor: actor, Action: "mapping.create", Issuer: m.Issuer,
		Target: m.ID, Detail: fmt.Sprintf("%s %q -> %s", m.Kind, m.Value, s.iss.AchievementURL(m.AchievementID))})
}

// Mapping returns one mapping.
func (s *Service) Mapping(ctx context.Context, id string) (*Mapping, error) {
	if !issuing.IsUUID(id) {
		return nil, fmt.Errorf("mapping %q: %w", id, issuing.ErrNotFound)
	}
	return s.store.Mapping(ctx, id)
}

// Mappings lists an issuer's mappings ("" for all).
func (s *Service) Mappings(ctx context.Context, issuer string) ([]Mapping, error) {
	return s.store.Mappings(ctx, issuer)
}

// DeleteMapping removes a mapping. The awards it decided that are not
// issued yet are cancelled with a reason, in the same transaction:
// whoever deletes a mapping expects it to award nothing more. Issued ones
// stay (revoking is another decision); an award the worker was signing
// at that very moment is issued and recorded as such.
func (s *Service) DeleteMapping(ctx context.Context, actor string, m *Mapping) error {
	return s.store.DeleteMapping(ctx, m.ID, issuing.AuditEntry{At: s.now(), Actor: actor, Action: "mapping.delete", Issuer: m.Issuer, Target: m.ID})
}

// MaxModules caps a parcours.
const MaxModules = 100

// NewParcours checks a parcours and resolves its achievements; the caller
// authorizes against its Issuer, then saves it with SaveParcours.
func (s *Service) NewParcours(ctx context.Context, in ParcoursInput) (*Parcours, error) {
	a, err := s.achievement(ctx, "achievement", in.Achievement)
	if err != nil {
		return nil, err
	}
	if len(in.Modules) == 0 {
		return nil, inputErr("modules", "at least one module achievement is required")
	}
	if len(in.Modules) > MaxModules {
		return nil, inputErr("modules", "at most %d modules", MaxModules)
	}
	p := &Parcours{ID: newUUID(), Issuer: a.Issuer, AchievementID: a.ID, Required: in.Required, CreatedAt: s.now().UTC()}
	for i, ref := range in.Modules {
		m, err := s.achievement(ctx, fmt.Sprintf("modules[%d]", i), ref)
		if err != nil {
			return nil, err
		}
		if m.ID == a.ID {
			return nil, inputErr(fmt.Sprintf("modules[%d]", i), "is the parcours' own achievement")
		}
		if slices.Contains(p.Members, m.ID) {
			return nil, inputErr(fmt.Sprintf("modules[%d]", i), "is listed twice")
		}
		p.Members = append(p.Members, m.ID)
	}
	if in.Required < 0 || in.Required > len(p.Members) {
		return nil, inputErr("required", "must be between 1 and the number of modules (%d), or 0 for all", len(p.Members))
	}
	return p, nil
}

// SaveParcours stores a parcours made by NewParcours. It applies to the
// completions that arrive from then on.
func (s *Service) SaveParcours(ctx context.Context, actor string, p *Parcours) error {
	p.CreatedBy = actor
	return s.store.CreateParcours(ctx, *p, issuing.AuditEntry{At: s.now(), Actor: actor, Action: "parcours.create", Issuer: p.Issuer,
		Target: p.ID, Detail: fmt.Sprintf("%s when %d of %d modules are held", s.iss.AchievementURL(p.AchievementID), p.needed(), len(p.Members))})
}

// Parcours returns one parcours.
func (s *Service) Parcours(ctx context.Context, id string) (*Parcours, error) {
	if !issuing.IsUUID(id) {
		return nil, fmt.Errorf("parcours %q: %w", id, issuing.ErrNotFound)
	}
	return s.store.Parcours(ctx, id)
}

// ParcoursList lists an issuer's parcours ("" for all).
func (s *Service) ParcoursList(ctx context.Context, issuer string) ([]Parcours, error) {
	return s.store.ParcoursList(ctx, issuer)
}

// DeleteParcours removes a parcours; as DeleteMapping, the awards it
// decided that are not issued yet are cancelled.
func (s *Service) DeleteParcours(ctx context.Context, actor string, p *Parcours) error {
	return s.store.DeleteParcours(ctx, p.ID, issuing.AuditEntry{At: s.now(), Actor: actor, Action: "parcours.delete", Issuer: p.Issuer, Target: p.ID})
}

// ModuleProgress is one module of a parcours, for one learner.
type ModuleProgress struct {
	Achievement string `json:"achievement"` // URL
	Held        bool   `json:"held"`
	// Credential is the learner's credential for it, when issued.
	Credential string `json:"credential,omitempty"`
}

// Progress is a learner's progress toward one parcours.
type Progress struct {
	Parcours    string           `json:"parcours"`    // id
	Achievement string           `json:"achievement"` // the parcours' achievement URL
	Issuer      string           `json:"issuer"`
	Required    int              `json:"required"` // modules needed
	Held        int              `json:"held"`     // modules held
	Complete    bool             `json:"complete"` // the parcours achievement is held
	Credential  string           `json:"credential,omitempty"`
	Modules     []ModuleProgress `json:"modules"`
}

// AwardedBy tells whether an issuer visible accepts issued a credential
// (in any state) to email: a trainer may read the progress only of
// learners their issuers awarded.
func (s *Service) AwardedBy(ctx context.Context, email string, visible func(issuer string) bool) (bool, error) {
	issuers, err := s.store.CredentialIssuers(ctx, badges.NormalizeEmail(email))
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(issuers, visible), nil
}

// LearnerProgress returns a learner's progress toward each parcours that
// visible accepts (by issuer); a module of an issuer visible refuses is
// shown as not held.
func (s *Service) LearnerProgress(ctx context.Context, email string, visible func(issuer string) bool) ([]Progress, error) {
	email = badges.NormalizeEmail(email)
	all, err := s.store.ParcoursList(ctx, "")
	if err != nil {
		return nil, err
	}
	var ps []Parcours
	achs := map[string]bool{}
	for _, p := range all {
		if !visible(p.Issuer) {
			continue
		}
		ps = append(ps, p)
		achs[p.AchievementID] = true
		for _, m := range p.Members {
			achs[m] = true
		}
	}
	hs, err := s.store.AchievementHoldings(ctx, []string{email}, keys(achs))
	if err != nil {
		return nil, err
	}
	held := map[string]Holding{}
	for _, h := range hs {
		if old, ok := held[h.AchievementID]; !ok || (!old.Issued && h.Issued) {
			held[h.AchievementID] = h
		}
	}
	cred := func(h Holding) string {
		if h.Issued {
			return s.iss.CredentialURL(h.CredentialID)
		}
		return ""
	}
	// A module may be another issuer's achievement: its credential is
	// shown only to those who may see that issuer's, so that a parcours
	// does not hand one issuer's trainers another's credentials.
	moduleIssuer := map[string]string{}
	seen := func(achievement string) (bool, error) {
		iss, ok := moduleIssuer[achievement]
		if !ok {
			a, err := s.iss.Achievement(ctx, achievement)
			if err != nil && !errors.Is(err, issuing.ErrNotFound) {
				return false, fmt.Errorf("completion: module %s: %w", achievement, err)
			}
			if a != nil {
				iss = a.Issuer
			}
			moduleIssuer[achievement] = iss
		}
		return visible(iss), nil
	}
	out := []Progress{}
	for _, p := range ps {
		pr := Progress{Parcours: p.ID, Achievement: s.iss.AchievementURL(p.AchievementID), Issuer: p.Issuer, Required: p.needed(), Modules: []ModuleProgress{}}
		for _, m := range p.Members {
			h, ok := held[m]
			if ok {
				// Whether the learner holds another issuer's module is
				// that issuer's to tell: hidden from those who may not
				// read its credentials.
				show, err := seen(m)
				if err != nil {
					return nil, err
				}
				ok = show
			}
			mp := ModuleProgress{Achievement: s.iss.AchievementURL(m), Held: ok}
			if ok {
				pr.Held++
				mp.Credential = cred(h)
			}
			pr.Modules = append(pr.Modules, mp)
		}
		if h, ok := held[p.AchievementID]; ok {
			pr.Complete, pr.Credential = true, cred(h)
		}
		out = append(out, pr)
	}
	return out, nil
}
