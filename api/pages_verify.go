package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/web"
)

type authenticView struct {
	Learner, Title, Parcours, Gaia, Start, End, InPerson, Remote, Modality string
	Organiser, Trainers, Signatory, IssuerName, IssuedAt, Code, Reason     string
	Competencies                                                           []attest.Competency
}

type checkView struct{ State, Name, Message string }

type verifyView struct {
	N                            int
	Title, Label, Message, Class string
	A                            *authenticView
	Checks                       []checkView
	// Items lists the attestations of a merged PDF, in page order.
	Items []mergedItemView
}

type mergedItemView struct {
	N                           int
	Learner, Code, Label, Class string
}

func verdictClass(v string) string {
	switch v {
	case attest.VerdictValid:
		return "ok"
	case attest.VerdictExpired, attest.VerdictModified:
		return "warn"
	}
	return "bad"
}

// dayText writes a YYYY-MM-DD date as people of lang read it.
func dayText(lang, d string) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return d
	}
	return formatDate(lang, t)
}

// verifyHTML is the verify page (HR, anyone) in the layout: the form,
// or the verdicts with the authentic facts, printable.
func (s *Server) verifyHTML(w http.ResponseWriter, r *http.Request, status int, data map[string]any) {
	pr := s.pageRequest(w, r)
	outs, _ := data["Outcomes"].([]outcomeView)
	var views []verifyView
	for _, o := range outs {
		v := verifyView{N: o.N, Label: pr.t("verify.verdict." + o.O.Verdict), Class: verdictClass(o.O.Verdict), Message: o.O.Message}
		if o.O.Message == attest.Message(o.O.Verdict) && web.HasMessage(pr.lang, "verify.msg."+o.O.Verdict) {
			v.Message = pr.t("verify.msg." + o.O.Verdict)
		}
		switch {
		case o.O.Name != "":
			v.Title = o.O.Name
		case o.Code != "":
			v.Title = pr.t("verify.code.title", attest.FormatCode(strings.ToUpper(o.Code)))
		default:
			v.Title = pr.t("verify.document")
		}
		if a := o.O.Authentic; a != nil {
			tr := a.Training
			av := &authenticView{Learner: a.Learner.Name, Title: tr.Title, Parcours: tr.Parcours, Start: dayText(pr.lang, tr.Start), End: dayText(pr.lang, tr.End),
				InPerson: attest.Hours(tr.HoursInPerson), Remote: attest.Hours(tr.HoursRemote), Modality: a.Modality, Organiser: tr.Organiser,
				Trainers: strings.Join(tr.Trainers, ", "), Signatory: strings.TrimSuffix(tr.Signatory.Name+", "+tr.Signatory.Role, ", "),
				IssuerName: a.IssuerName, IssuedAt: formatDate(pr.lang, a.IssuedAt), Code: attest.FormatCode(a.Code), Reason: a.Reason,
				Competencies: a.Competencies}
			if tr.GaiaDispositif != "" {
				av.Gaia = strings.Join(nonEmpty(pr.t("verify.gaia.dispositif", tr.GaiaDispositif), gaiaPart(pr, "verify.gaia.module", tr.GaiaModule),
					gaiaPart(pr, "verify.gaia.session", tr.GaiaSession)), ", ")
			}
			v.A = av
		}
		for i, it := range o.O.Attestations {
			item := mergedItemView{N: i + 1, Label: pr.t("verify.verdict." + it.Verdict), Class: verdictClass(it.Verdict)}
			if a := it.Authentic; a != nil {
				item.Learner, item.Code = a.Learner.Name, attest.FormatCode(a.Code)
			}
			v.Items = append(v.Items, item)
		}
		if rep := o.O.Report; rep != nil {
			for _, c := range rep.Checks {
				state := pr.t("verify.check.failed")
				if c.OK {
					state = pr.t("verify.check.ok")
				} else if c.Warning {
					state = pr.t("verify.check.warning")
				}
				v.Checks = append(v.Checks, checkView{State: state, Name: c.Name, Message: c.Message})
			}
		}
		views = append(views, v)
	}
	title := pr.t("verify.title")
	if len(views) > 0 {
		title = pr.t("verify.result.title")
	}
	page := s.layout(pr, title, map[string]any{"Outcomes": views, "When": formatDate(pr.lang, time.Now())})
	if msg, _ := data["Error"].(string); msg != "" {
		page.Error = msg
	}
	pr.w.Header().Set("Cache-Control", "no-store")
	s.render(pr, status, "verify", page)
}

func gaiaPart(pr *pageReq, key, v string) string {
	if v == "" {
		return ""
	}
	return pr.t(key, v)
}

func nonEmpty(in ...string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
