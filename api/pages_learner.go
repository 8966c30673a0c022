package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
)

var frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// formatDate writes a date as people of lang read it.
func formatDate(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if lang == "fr" {
		day := t.Format("2")
		if day == "1" {
			day = "1er"
		}
		return day + " " + frenchMonths[t.Month()-1] + " " + t.Format("2006")
	}
	return t.Format("2 January 2006")
}

// signedDoc is what the pages read of a signed credential.
type signedDoc struct {
	Name       string `json:"name"`
	ValidFrom  string `json:"validFrom"`
	ValidUntil string `json:"validUntil"`
	Issuer     struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"issuer"`
	CredentialSubject struct {
		Narrative   string             `json:"narrative"`
		Achievement badges.Achievement `json:"achievement"`
		Result      []badges.Result    `json:"result"`
	} `json:"credentialSubject"`
	Evidence []badges.Evidence `json:"evidence"`
}

func parseSigned(b []byte) signedDoc {
	var d signedDoc
	json.Unmarshal(b, &d) // signed by this service: its shape is known
	return d
}

// level names the level a credential's results reached, if any.
func (d *signedDoc) level() string {
	a := d.CredentialSubject.Achievement
	for _, res := range d.CredentialSubject.Result {
		if res.AchievedLevel == "" {
			continue
		}
		for _, rd := range a.ResultDescription {
			for _, l := range rd.RubricCriterionLevel {
				if l.ID == res.AchievedLevel {
					return l.Name
				}
			}
		}
		return res.AchievedLevel
	}
	return ""
}

type alignmentView struct{ Code, Name, URL, Framework string }

type evidenceView struct{ URL, Name, Description, Narrative string }

// credentialHTML is a credential's public page.
func (s *Server) credentialHTML(w http.ResponseWriter, r *http.Request, c *issuing.Credential) {
	pr := s.pageRequest(w, r)
	d := parseSigned(c.Signed)
	a := d.CredentialSubject.Achievement
	state := c.State
	data := map[string]any{
		"Name": a.Name, "Description": a.Description, "Issuer": d.Issuer.Name, "Recipient": c.RecipientName,
		"URL": s.iss.CredentialURL(c.ID), "Issued": d.ValidFrom, "Reason": c.Reason,
		"Alt": pr.t("credential.alt", a.Name), "Narrative": d.CredentialSubject.Narrative, "Level": d.level(),
	}
	if a.Image != nil && a.Image.Caption != "" {
		data["Alt"] = a.Image.Caption
	}
	if a.Criteria != nil {
		data["Criteria"] = a.Criteria.Narrative
	}
	if t, err := time.Parse(time.RFC3339, d.ValidFrom); err == nil {
		data["IssuedText"] = formatDate(pr.lang, t)
	}
	if t, err := time.Parse(time.RFC3339, d.ValidUntil); err == nil {
		data["ValidUntilText"] = formatDate(pr.lang, t)
		if state == issuing.StateActive && t.Before(time.Now()) {
			state = "expired"
		}
	}
	data["State"] = state
	var ev []evidenceView
	for _, e := range d.Evidence {
		ev = append(ev, evidenceView{URL: e.ID, Name: e.Name, Description: e.Description, Narrative: e.Narrative})
	}
	data["Evidence"] = ev
	var al []alignmentView
	for _, x := range a.Alignment {
		al = append(al, alignmentView{Code: x.TargetCode, Name: x.TargetName, URL: x.TargetURL, Framework: x.TargetFramework})
	}
	data["Alignments"] = al
	// The page is public: a signed-in visitor sees it as anyone does,
	// but with their header.
	s.render(pr, http.StatusOK, "credential", s.layout(pr, a.Name, data))
}

// backpackPage lists the learner's holdings: credentials issued to any
// of their verified addresses, and those they imported.
func (s *Server) backpackPage(pr *pageReq) {
	s.backpackPageBP(pr, http.StatusOK, "")
}

type mapTile struct {
	Code, Statement, Level string
	Covered                bool
	Credentials            []struct{ URL, Name string }
}

type mapDomain struct {
	Code, Statement string
	Tiles           []mapTile
}

type mapFramework struct {
	ID, Title      string
	Covered, Total int
	Domains        []mapDomain
}

// competencyMapPage draws both frameworks as a map: under each domain, a
// tile per competency, highlighted when one of the learner's credentials
// covers it (or one of its sub-items), with the best level reached.
func (s *Server) competencyMapPage(pr *pageReq) {
	ctx := pr.r.Context()
	prof, err := s.comp.Profile(ctx, pr.p.Email, nil)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	sn, err := s.comp.Latest(ctx)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	covered := map[string]competency.ProfileItem{}
	for _, f := range prof.Frameworks {
		for _, it := range f.Items {
			covered[it.ID] = it
		}
	}
	var fws []mapFramework
	for _, f := range sn.Frameworks {
		fws = append(fws, frameworkMap(f, covered))
	}
	s.render(pr, http.StatusOK, "competencies", s.layout(pr, pr.t("competencies.title"), map[string]any{"Frameworks": fws}))
}

func frameworkMap(f competency.Framework, covered map[string]competency.ProfileItem) mapFramework {
	mf := mapFramework{ID: f.Identifier, Title: f.Title}
	depth := itemDepths(f)
	parent := map[string]string{}
	deepest := 0
	for _, it := range f.Items {
		parent[it.Identifier] = it.Parent
		deepest = max(deepest, depth[it.Identifier])
	}
	// Competencies are the level above the finest points ("CC14" above
	// its sub-points; "F1.5" in the trainers' framework).
	tileDepth := max(deepest-1, 0)
	ancestor := func(id string, d int) string {
		for depth[id] > d {
			id = parent[id]
		}
		return id
	}
	type at struct{ domain, tile int }
	domains := map[string]int{}
	where := map[string]at{} // tile item → its place
	for _, it := range f.Items {
		switch d := depth[it.Identifier]; {
		case d == 0:
			domains[it.Identifier] = len(mf.Domains)
			mf.Domains = append(mf.Domains, mapDomain{Code: it.HumanCodingScheme, Statement: it.FullStatement})
		case d == tileDepth:
			k, ok := domains[ancestor(it.Identifier, 0)]
			if !ok {
				continue
			}
			where[it.Identifier] = at{k, len(mf.Domains[k].Tiles)}
			mf.Domains[k].Tiles = append(mf.Domains[k].Tiles, mapTile{Code: it.HumanCodingScheme, Statement: it.FullStatement})
			mf.Total++
		}
	}
	for _, it := range f.Items {
		pi, ok := covered[it.Identifier]
		if !ok || depth[it.Identifier] < tileDepth {
			continue
		}
		w, ok := where[ancestor(it.Identifier, tileDepth)]
		if !ok {
			continue
		}
		t := &mf.Domains[w.domain].Tiles[w.tile]
		if !t.Covered {
			t.Covered = true
			mf.Covered++
		}
		if pi.BestLevel != nil && t.Level == "" {
			t.Level = pi.BestLevel.Name
		}
		for _, c := range pi.Credentials {
			t.Credentials = append(t.Credentials, struct{ URL, Name string }{"/credentials/" + strings.TrimPrefix(c.ID, "urn:uuid:"), c.Name})
		}
	}
	return mf
}

// itemDepths gives each item of a framework its depth in the tree (0 for
// a top-level item).
func itemDepths(f competency.Framework) map[string]int {
	parent := map[string]string{}
	for _, it := range f.Items {
		parent[it.Identifier] = it.Parent
	}
	out := map[string]int{}
	for _, it := range f.Items {
		d, p := 0, it.Parent
		for p != "" && d < 10 {
			d++
			p = parent[p]
		}
		out[it.Identifier] = d
	}
	return out
}
