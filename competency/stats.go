package competency

import (
	"context"
	"encoding/json"
	"sort"
	"time"
)

// Statistics counts credentials that are not revoked, by framework item,
// by issuer, by the académie, département and discipline of their
// learners, and by month of issue.
type Statistics struct {
	Issuer        string  `json:"issuer,omitempty"` // "" for every issuer
	Total         int     `json:"total"`
	ByItem        []Count `json:"byItem"`
	ByIssuer      []Count `json:"byIssuer"`
	ByAcademie    []Count `json:"byAcademie"`
	ByDepartement []Count `json:"byDepartement"`
	ByDiscipline  []Count `json:"byDiscipline"`
	ByMonth       []Count `json:"byMonth"`
}

// Count is one bar of a statistic. Key is what is counted by (an item
// identifier, an issuer slug, an académie, a month "2026-11"); Label is
// what people read. An empty Key counts learners whose attribute is not
// known.
type Count struct {
	Key       string `json:"key"`
	Label     string `json:"label"`
	Framework string `json:"framework,omitempty"`
	Count     int    `json:"count"`
}

// Unknown labels the learners whose académie, département or discipline
// is not known.
const Unknown = "non renseigné"

// Statistics computes the statistics of an issuer ("" for all). The items
// a credential covers are read from the signed credential once, then
// cached.
func (s *Service) Statistics(ctx context.Context, issuer string) (*Statistics, error) {
	facts, err := s.store.CredentialFacts(ctx, issuer)
	if err != nil {
		return nil, err
	}
	sn, err := s.Latest(ctx)
	if err != nil {
		return nil, err
	}
	st := &Statistics{Issuer: issuer, Total: len(facts)}
	items, issuers, acad, dept, disc, months := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	covered, err := s.coverage(ctx, facts)
	if err != nil {
		return nil, err
	}
	for _, f := range facts {
		issuers[f.Issuer]++
		acad[f.Academie]++
		dept[f.Departement]++
		disc[f.Discipline]++
		months[monthOf(f.CreatedAt)]++
		for _, id := range covered[f.ID] {
			items[id]++
		}
	}
	for id, n := range items {
		c := Count{Key: id, Label: id, Count: n}
		if f, it, ok := sn.Item(id); ok {
			c.Label, c.Framework = it.HumanCodingScheme, f.Title
			if c.Label == "" {
				c.Label = it.FullStatement
			}
		}
		st.ByItem = append(st.ByItem, c)
	}
	sortCounts(st.ByItem)
	st.ByIssuer = counts(issuers, false)
	st.ByAcademie = counts(acad, false)
	st.ByDepartement = counts(dept, false)
	st.ByDiscipline = counts(disc, false)
	st.ByMonth = fillMonths(counts(months, true))
	if st.ByItem == nil {
		st.ByItem = []Count{}
	}
	return st, nil
}

func counts(m map[string]int, byKey bool) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		label := k
		if k == "" {
			label = Unknown
		}
		out = append(out, Count{Key: k, Label: label, Count: n})
	}
	if byKey {
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	} else {
		sortCounts(out)
	}
	return out
}

// sortCounts puts the largest counts first, then by label.
func sortCounts(cs []Count) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Count != cs[j].Count {
			return cs[i].Count > cs[j].Count
		}
		return cs[i].Label < cs[j].Label
	})
}

// fillMonths adds the months without credentials between the first and
// the last, so that a time series shows the gaps.
func fillMonths(cs []Count) []Count {
	if len(cs) < 2 {
		return cs
	}
	first, err1 := time.Parse("2006-01", cs[0].Key)
	last, err2 := time.Parse("2006-01", cs[len(cs)-1].Key)
	if err1 != nil || err2 != nil {
		return cs
	}
	have := map[string]int{}
	for _, c := range cs {
		have[c.Key] = c.Count
	}
	var out []Count
	for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
		k := m.Format("2006-01")
		out = append(out, Count{Key: k, Label: k, Count: have[k]})
	}
	return out
}

// coverage returns the item identifiers each credential covers, reading
// the signed documents of those not in the cache.
func (s *Service) coverage(ctx context.Context, facts []CredentialFact) (map[string][]string, error) {
	out := make(map[string][]string, len(facts))
	var missing []string
	s.coverMu.Lock()
	for _, f := range facts {
		if ids, ok := s.covered[f.ID]; ok {
			out[f.ID] = ids
		} else {
			missing = append(missing, f.ID)
		}
	}
	s.coverMu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	signed, err := s.store.SignedCredentials(ctx, missing)
	if err != nil {
		return nil, err
	}
	fresh := make(map[string][]string, len(signed))
	for id, b := range signed {
		var d coverageDoc
		if err := json.Unmarshal(b, &d); err != nil {
			s.log.WarnContext(ctx, "statistics: unreadable credential", "credential", id, "err", err)
			continue
		}
		var ids []string
		for _, c := range d.covers() {
			if item, ok := s.itemID(c.itemURL); ok {
				ids = append(ids, item)
			}
		}
		fresh[id], out[id] = ids, ids
	}
	s.coverMu.Lock()
	if s.covered == nil || len(s.covered)+len(fresh) > maxCovered {
		s.covered = make(map[string][]string, len(fresh))
	}
	for id, ids := range fresh {
		s.covered[id] = ids
	}
	s.coverMu.Unlock()
	return out, nil
}
