package competency

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/insigne/insigne/badges"
)

// Profile is a learner's competency profile: for every framework item one
// of their credentials covers, those credentials, their evidence, and the
// best level reached.
type Profile struct {
	Email      string             `json:"email"`
	Learner    *Learner           `json:"learner,omitempty"`
	Frameworks []ProfileFramework `json:"frameworks"`
}

// ProfileFramework groups the covered items of one framework.
type ProfileFramework struct {
	ID      string        `json:"id"`
	Title   string        `json:"title"`
	Version int           `json:"version"`
	Items   []ProfileItem `json:"items"`
}

// ProfileItem is one covered item.
type ProfileItem struct {
	ID          string               `json:"id"`
	Code        string               `json:"code,omitempty"`
	Statement   string               `json:"statement"`
	URL         string               `json:"url"`
	BestLevel   *Level               `json:"bestLevel"`
	Credentials []CoveringCredential `json:"credentials"`
}

// Level is a level reached on an achievement's scale. Rank counts from 1
// (the first, lowest, level listed) to Of (the number of levels).
type Level struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Rank int    `json:"rank"`
	Of   int    `json:"of"`
}

// CoveringCredential is a credential that covers an item.
type CoveringCredential struct {
	ID          string            `json:"id"` // urn:uuid:…
	Achievement string            `json:"achievement"`
	Name        string            `json:"name"`
	Issuer      string            `json:"issuer"`
	IssuerName  string            `json:"issuerName,omitempty"`
	Issued      string            `json:"issued"`
	Level       *Level            `json:"level,omitempty"`
	Evidence    []badges.Evidence `json:"evidence,omitempty"`
}

// credentialDoc is what the profile reads of a signed credential.
type credentialDoc struct {
	ID     string `json:"id"`
	Issuer struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"issuer"`
	ValidFrom         string `json:"validFrom"`
	CredentialSubject struct {
		Achievement struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			achievementCoverage
		} `json:"achievement"`
		Result []docResult `json:"result"`
	} `json:"credentialSubject"`
	Evidence []badges.Evidence `json:"evidence"`
}

func (d *credentialDoc) coverage() *coverageDoc {
	var c coverageDoc
	c.CredentialSubject.Achievement = d.CredentialSubject.Achievement.achievementCoverage
	c.CredentialSubject.Result = d.CredentialSubject.Result
	return &c
}

// coverageDoc is what says which items a credential covers, and at which
// level: all the statistics read. Only the fields used are decoded (not
// the official wording of every alignment).
type coverageDoc struct {
	CredentialSubject struct {
		Achievement achievementCoverage `json:"achievement"`
		Result      []docResult         `json:"result"`
	} `json:"credentialSubject"`
}

type achievementCoverage struct {
	Alignment         []docAlignment `json:"alignment"`
	ResultDescription []struct {
		ID                   string `json:"id"`
		RubricCriterionLevel []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rubricCriterionLevel"`
	} `json:"resultDescription"`
}

type docAlignment struct {
	TargetType string `json:"targetType"`
	TargetCode string `json:"targetCode"`
	TargetURL  string `json:"targetUrl"`
}

type docResult struct {
	ResultDescription string         `json:"resultDescription"`
	AchievedLevel     string         `json:"achievedLevel"`
	Alignment         []docAlignment `json:"alignment"`
}

// coverage is one item a credential covers, with the level reached on it.
type coverage struct {
	itemURL string
	code    string
	level   *Level
}

// covers lists the framework items a credential covers: the CFItem
// alignments of its achievement, and those of its results, which carry
// the level reached. A result without alignments gives its level to every
// item of the achievement.
func (d *coverageDoc) covers() []coverage {
	var out []coverage
	index := map[string]int{}
	add := func(a docAlignment, l *Level) {
		if a.TargetType != "CFItem" || a.TargetURL == "" {
			return
		}
		if i, ok := index[a.TargetURL]; ok {
			if better(l, out[i].level) {
				out[i].level = l
			}
			return
		}
		index[a.TargetURL] = len(out)
		out = append(out, coverage{itemURL: a.TargetURL, code: a.TargetCode, level: l})
	}
	for _, a := range d.CredentialSubject.Achievement.Alignment {
		add(a, nil)
	}
	for _, r := range d.CredentialSubject.Result {
		l := d.level(r)
		if len(r.Alignment) == 0 {
			for _, a := range d.CredentialSubject.Achievement.Alignment {
				add(a, l)
			}
		}
		for _, a := range r.Alignment {
			add(a, l)
		}
	}
	return out
}

// level finds a result's achieved level on its description's scale.
func (d *coverageDoc) level(r docResult) *Level {
	if r.AchievedLevel == "" {
		return nil
	}
	for _, rd := range d.CredentialSubject.Achievement.ResultDescription {
		if r.ResultDescription != "" && rd.ID != r.ResultDescription {
			continue
		}
		for i, l := range rd.RubricCriterionLevel {
			if l.ID == r.AchievedLevel {
				return &Level{ID: l.ID, Name: l.Name, Rank: i + 1, Of: len(rd.RubricCriterionLevel)}
			}
		}
	}
	return nil
}

// better tells whether level a is above b. Scales differ between
// achievements, so levels compare by their place on their own scale
// (rank/of); any level beats none.
func better(a, b *Level) bool {
	if a == nil {
		return false
	}
	if b == nil {
		return true
	}
	return a.Rank*b.Of > b.Rank*a.Of
}

// itemID returns the identifier of a CFItem URL of this service.
func (s *Service) itemID(url string) (string, bool) {
	prefix := s.base + casePath + "/CFItems/"
	if !strings.HasPrefix(url, prefix) {
		return "", false
	}
	return normUUID(strings.TrimPrefix(url, prefix))
}

// Profile builds the competency profile of the learner at email from the
// credentials issued to them that are neither revoked nor suspended.
// include, when not nil, keeps only the credentials of the issuers it
// accepts (what a trainer of one issuer may see). Items of frameworks
// that are no longer stored are left out.
func (s *Service) Profile(ctx context.Context, email string, include func(issuer string) bool) (*Profile, error) {
	email = badges.NormalizeEmail(email)
	facts, err := s.store.LearnerCredentials(ctx, email)
	if err != nil {
		return nil, err
	}
	sn, err := s.Latest(ctx)
	if err != nil {
		return nil, err
	}
	p := &Profile{Email: email, Frameworks: []ProfileFramework{}}
	frameworks := map[string]int{} // framework id → index in p.Frameworks
	items := map[string]*ProfileItem{}
	var order []string
	for _, fact := range facts {
		if fact.State != "active" || (include != nil && !include(fact.Issuer)) {
			continue
		}
		var d credentialDoc
		if err := json.Unmarshal(fact.Signed, &d); err != nil {
			s.log.WarnContext(ctx, "profile: unreadable credential", "credential", fact.ID, "err", err)
			continue
		}
		for _, c := range d.coverage().covers() {
			id, ok := s.itemID(c.itemURL)
			if !ok {
				continue
			}
			f, it, ok := sn.Item(id)
			if !ok {
				continue
			}
			pi := items[id]
			if pi == nil {
				if _, ok := frameworks[f.Identifier]; !ok {
					frameworks[f.Identifier] = len(p.Frameworks)
					p.Frameworks = append(p.Frameworks, ProfileFramework{ID: f.Identifier, Title: f.Title, Version: sn.Versions[f.Identifier]})
				}
				pi = &ProfileItem{ID: id, Code: it.HumanCodingScheme, Statement: it.FullStatement, URL: c.itemURL}
				items[id] = pi
				order = append(order, id)
			}
			pi.Credentials = append(pi.Credentials, CoveringCredential{ID: d.ID, Achievement: d.CredentialSubject.Achievement.ID,
				Name: d.CredentialSubject.Achievement.Name, Issuer: d.Issuer.ID, IssuerName: d.Issuer.Name, Issued: d.ValidFrom,
				Level: c.level, Evidence: d.Evidence})
			// Later credentials win ties: the latest assessment at a level.
			if c.level != nil && (pi.BestLevel == nil || !better(pi.BestLevel, c.level)) {
				pi.BestLevel = c.level
			}
		}
	}
	// Items in framework order, which is how the texts list them.
	for _, id := range order {
		f, _, _ := sn.Item(id)
		k := frameworks[f.Identifier]
		p.Frameworks[k].Items = append(p.Frameworks[k].Items, *items[id])
	}
	for k := range p.Frameworks {
		f, _, _ := sn.Item(p.Frameworks[k].Items[0].ID)
		pos := map[string]int{}
		for i, it := range f.Items {
			pos[it.Identifier] = i
		}
		sort.SliceStable(p.Frameworks[k].Items, func(i, j int) bool {
			return pos[p.Frameworks[k].Items[i].ID] < pos[p.Frameworks[k].Items[j].ID]
		})
	}
	if l, err := s.store.LearnerAttributes(ctx, email); err == nil {
		p.Learner = l
	}
	return p, nil
}

// monthOf is the month of an issue date, "2026-11".
func monthOf(t time.Time) string { return t.UTC().Format("2006-01") }
