package api

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/web"
)

// managePages are an issuer's pages, for its trainers and administrators.
func (s *Server) managePages(r *mux.Router) {
	get, post := http.MethodGet, http.MethodPost
	m := "/manage/{slug}"
	r.HandleFunc(m, s.issuerPage(auth.RoleTrainer, s.manageHome)).Methods(get)
	r.HandleFunc(m+"/award", s.issuerPage(auth.RoleTrainer, s.awardPage)).Methods(get)
	r.HandleFunc(m+"/award", s.issuerPage(auth.RoleTrainer, s.awardSubmit)).Methods(post)
	r.HandleFunc(m+"/bulk", s.issuerPage(auth.RoleTrainer, s.bulkPage)).Methods(get)
	r.HandleFunc(m+"/bulk", s.issuerPage(auth.RoleTrainer, s.bulkSubmit)).Methods(post)
	r.HandleFunc(m+"/jobs/{id}", s.issuerPage(auth.RoleTrainer, s.jobPage)).Methods(get)
	r.HandleFunc(m+"/achievements", s.issuerPage(auth.RoleTrainer, s.achievementsPage)).Methods(get)
	r.HandleFunc(m+"/achievements/new", s.issuerPage(auth.RoleAdmin, s.achievementForm)).Methods(get)
	r.HandleFunc(m+"/achievements/new", s.issuerPage(auth.RoleAdmin, s.achievementSubmit)).Methods(post)
	r.HandleFunc(m+"/achievements/{id}", s.issuerPage(auth.RoleAdmin, s.achievementForm)).Methods(get)
	r.HandleFunc(m+"/achievements/{id}", s.issuerPage(auth.RoleAdmin, s.achievementSubmit)).Methods(post)
	r.HandleFunc(m+"/credentials", s.issuerPage(auth.RoleTrainer, s.issuedPage)).Methods(get)
	r.HandleFunc(m+"/credentials/{id}", s.issuerPage(auth.RoleAdmin, s.issuedChange)).Methods(post)
	r.HandleFunc(m+"/keys", s.issuerPage(auth.RoleAdmin, s.keysPage)).Methods(get)
	r.HandleFunc(m+"/keys/rotate", s.issuerPage(auth.RoleAdmin, s.keysRotate)).Methods(post)
	r.HandleFunc(m+"/tokens", s.issuerPage(auth.RoleAdmin, s.tokensPage)).Methods(get)
	r.HandleFunc(m+"/tokens", s.issuerPage(auth.RoleAdmin, s.tokensPage)).Methods(post)
	r.HandleFunc(m+"/tokens/{id}/revoke", s.issuerPage(auth.RoleAdmin, s.tokenRevoke)).Methods(post)
	r.HandleFunc(m+"/members", s.issuerPage(auth.RoleAdmin, s.membersPage)).Methods(get, post)
	if s.comp != nil {
		r.HandleFunc(m+"/pending", s.issuerPage(auth.RoleTrainer, s.pendingPage)).Methods(get)
		r.HandleFunc(m+"/pending/{id}/{action:approve|reject}", s.issuerPage(auth.RoleTrainer, s.pendingDecide)).Methods(post)
		r.HandleFunc(m+"/statistics", s.issuerPage(auth.RoleAdmin, s.statisticsPage)).Methods(get)
	}
	s.staffPages(r, m)
}

// issuerReq is a page request on one issuer by someone with a role on it.
type issuerReq struct {
	*pageReq
	issuer *issuing.Issuer
	role   auth.Role // the principal's role; admin for root
}

func (ir *issuerReq) admin() bool { return ir.role == auth.RoleAdmin }

// issuerPage wraps an issuer's page: signed in, with at least role on it.
func (s *Server) issuerPage(role auth.Role, h func(*issuerReq)) http.HandlerFunc {
	return s.page(func(pr *pageReq) {
		slug := mux.Vars(pr.r)["slug"]
		if !pr.p.Can(slug, role) {
			s.errorPage(pr, http.StatusForbidden, "")
			return
		}
		is, err := s.iss.Issuer(pr.r.Context(), slug)
		if err != nil {
			s.pageFail(pr, err)
			return
		}
		ir := &issuerReq{pageReq: pr, issuer: is, role: pr.p.Roles[slug]}
		if pr.p.Root {
			ir.role = auth.RoleAdmin
		}
		h(ir)
	})
}

// layout adds the issuer's sub-navigation to the page layout.
func (s *Server) issuerLayout(ir *issuerReq, title string, data any) *web.Page {
	page := s.layout(ir.pageReq, title, data)
	base := "/manage/" + ir.issuer.Slug
	nav := &web.IssuerNav{Slug: ir.issuer.Slug, Name: ir.issuer.Name, Role: string(ir.role)}
	if ir.pageReq.p.Root {
		nav.Role = "root"
	}
	add := func(path, key string) {
		href := base + path
		cur := ir.r.URL.Path == href || (path != "" && strings.HasPrefix(ir.r.URL.Path, href+"/"))
		nav.Links = append(nav.Links, web.Link{Href: href, Label: ir.t("manage." + key), Text: ir.t("manage." + key + ".text"), Current: cur})
	}
	add("/award", "award")
	add("/bulk", "bulk")
	if s.comp != nil {
		add("/pending", "pending")
	}
	add("/achievements", "achievements")
	add("/credentials", "credentials")
	if s.att != nil {
		add("/attestations", "attestations")
	}
	if s.comp != nil {
		add("/frameworks", "frameworks")
	}
	if ir.admin() {
		add("/keys", "keys")
		add("/tokens", "tokens")
		add("/members", "members")
		if s.completions != nil {
			add("/rules", "rules")
		}
		if s.xapi != nil {
			add("/lms", "lms")
		}
		if s.comp != nil {
			add("/statistics", "statistics")
		}
	}
	page.Issuer = nav
	return page
}

func (s *Server) manageHome(ir *issuerReq) {
	s.render(ir.pageReq, http.StatusOK, "manage", s.issuerLayout(ir, ir.issuer.Name, nil))
}

// formValues keeps what was typed, to show it again with an error.
func formValues(r *http.Request) map[string]string {
	out := map[string]string{}
	for k, v := range r.PostForm {
		if k != "csrf_token" && k != "password" && len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// redirectDone goes back to a page with a message (a catalogue key).
func redirectDone(ir *issuerReq, path, done string, extra ...string) {
	q := url.Values{}
	if done != "" {
		q.Set("done", done)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	target := "/manage/" + ir.issuer.Slug + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(ir.w, ir.r, target, http.StatusSeeOther)
}

type achievementOption struct {
	ID, Name string
	Levels   []string
}

func (s *Server) achievementOptions(ir *issuerReq) ([]achievementOption, error) {
	list, err := s.iss.Achievements(ir.r.Context(), ir.issuer.Slug)
	if err != nil {
		return nil, err
	}
	var out []achievementOption
	for i := range list {
		spec, err := list[i].Spec()
		if err != nil {
			return nil, err
		}
		o := achievementOption{ID: list[i].ID, Name: spec.Name}
		for _, rd := range spec.ResultDescription {
			for _, l := range rd.RubricCriterionLevel {
				o.Levels = append(o.Levels, l.Name)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// awardPage is the trainer's award form.
func (s *Server) awardPage(ir *issuerReq) {
	s.renderAward(ir, http.StatusOK, map[string]string{}, "", "")
}

func (s *Server) renderAward(ir *issuerReq, status int, form map[string]string, msg, field string) {
	opts, err := s.achievementOptions(ir)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	type levels struct {
		Achievement string
		Levels      []string
	}
	var lv []levels
	for _, o := range opts {
		if len(o.Levels) > 0 {
			lv = append(lv, levels{o.Name, o.Levels})
		}
	}
	// The people this issuer already awarded, to find a learner by
	// typing part of their address.
	var known []struct{ Email, Name string }
	if list, _, err := s.iss.Credentials(ir.r.Context(), issuing.CredentialQuery{Issuer: ir.issuer.Slug, Limit: 500}); err == nil {
		seen := map[string]bool{}
		for _, c := range list {
			if c.RecipientEmail != "" && !seen[c.RecipientEmail] {
				seen[c.RecipientEmail] = true
				known = append(known, struct{ Email, Name string }{c.RecipientEmail, c.RecipientName})
			}
		}
	}
	q := ir.r.URL.Query()
	data := map[string]any{"Achievements": opts, "Form": form, "Competency": s.comp != nil, "Levels": lv, "Proposed": q.Get("proposed") != "", "Known": known}
	if id := q.Get("issued"); issuing.IsUUID(id) {
		data["Issued"] = id
	}
	page := s.issuerLayout(ir, ir.t("award.title"), data)
	page.Error, page.ErrorField = msg, field
	s.render(ir.pageReq, status, "award", page)
}

// awardSubmit awards one person, with evidence and, when competencies are
// named, a level; or proposes the award to a second assessor.
func (s *Server) awardSubmit(ir *issuerReq) {
	r := ir.r
	form := formValues(r)
	fail := func(err error) {
		if msg, field, ok := formError(ir.pageReq, err); ok {
			s.renderAward(ir, http.StatusBadRequest, form, msg, field)
			return
		}
		s.pageFail(ir.pageReq, err)
	}
	ctx := r.Context()
	req := issuing.AwardRequest{Achievement: r.PostFormValue("achievement"), Narrative: strings.TrimSpace(r.PostFormValue("narrative")),
		Recipients: []issuing.RecipientInput{{Email: strings.TrimSpace(r.PostFormValue("email")), Name: strings.TrimSpace(r.PostFormValue("name"))}}}
	if f, fh, err := r.FormFile("evidence"); err == nil {
		defer f.Close()
		if fh.Size > 0 {
			head := make([]byte, 512)
			n, _ := io.ReadFull(f, head)
			b, err := s.iss.PutEvidence(ctx, actor(ir.p), fh.Filename, sniff(head[:n]), io.MultiReader(bytes.NewReader(head[:n]), f))
			if err != nil {
				fail(err)
				return
			}
			name := strings.TrimSpace(r.PostFormValue("evidence_name"))
			if name == "" {
				name = fh.Filename
			}
			req.Evidence = []issuing.EvidenceInput{{URL: s.iss.EvidenceURL(b.SHA256), Name: name, Description: strings.TrimSpace(r.PostFormValue("evidence_description"))}}
		}
	}
	if !issuing.IsUUID(req.Achievement) {
		fail(&issuing.InputError{Field: "achievement", Reason: "choose a badge"})
		return
	}
	a, err := s.iss.Achievement(ctx, req.Achievement)
	if err != nil || a.Issuer != ir.issuer.Slug {
		fail(&issuing.InputError{Field: "achievement", Reason: "choose a badge of this issuer"})
		return
	}
	var codes []string
	for _, c := range strings.Split(r.PostFormValue("competencies"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes = append(codes, c)
		}
	}
	if len(codes) > 0 && s.comp != nil {
		als, err := s.comp.Resolve(ctx, "competencies", codes)
		if err != nil {
			fail(err)
			return
		}
		spec, err := a.Spec()
		if err != nil {
			s.pageFail(ir.pageReq, err)
			return
		}
		if strings.TrimSpace(r.PostFormValue("level")) == "" {
			s.renderAward(ir, http.StatusBadRequest, form, ir.t("err.level.required"), "level")
			return
		}
		res, err := competency.LevelResult(spec.ResultDescription, "", r.PostFormValue("level"), als)
		if err != nil {
			fail(err)
			return
		}
		req.Results = []badges.Result{res}
	}
	prep, err := s.iss.Prepare(ctx, req)
	if err != nil {
		fail(err)
		return
	}
	if r.PostFormValue("second") != "" && s.comp != nil {
		if _, err := s.iss.Propose(ctx, actor(ir.p), assessor(ir.p), prep); err != nil {
			fail(err)
			return
		}
		redirectDone(ir, "/award", "", "proposed", "1")
		return
	}
	creds, err := s.iss.Award(ctx, actor(ir.p), prep)
	if err != nil {
		fail(err)
		return
	}
	s.metrics.awarded.Add(float64(len(creds)))
	redirectDone(ir, "/award", "", "issued", creds[0].ID)
}

func (s *Server) bulkPage(ir *issuerReq) {
	s.renderBulk(ir, http.StatusOK, "", "")
}

func (s *Server) renderBulk(ir *issuerReq, status int, msg, field string) {
	opts, err := s.achievementOptions(ir)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	page := s.issuerLayout(ir, ir.t("bulk.title"), map[string]any{"Achievements": opts})
	page.Error, page.ErrorField = msg, field
	s.render(ir.pageReq, status, "bulk", page)
}

// bulkSubmit starts a job for a CSV of recipients, whatever its size, so
// that the trainer always follows the same progress page.
func (s *Server) bulkSubmit(ir *issuerReq) {
	r := ir.r
	f, _, err := r.FormFile("csv")
	if err != nil {
		s.renderBulk(ir, http.StatusBadRequest, ir.t("err.file.required"), "csv")
		return
	}
	defer f.Close()
	body, err := io.ReadAll(f)
	if err != nil {
		s.renderBulk(ir, http.StatusBadRequest, ir.t("form.unreadable"), "csv")
		return
	}
	fail := func(err error) {
		if msg, field, ok := formError(ir.pageReq, err); ok {
			s.renderBulk(ir, http.StatusBadRequest, msg, field)
			return
		}
		s.pageFail(ir.pageReq, err)
	}
	rows, err := parseRecipientsCSV(body)
	if err != nil {
		fail(err)
		return
	}
	prep, err := s.iss.Prepare(r.Context(), issuing.AwardRequest{Achievement: r.PostFormValue("achievement"),
		Narrative: strings.TrimSpace(r.PostFormValue("narrative")), Recipients: rows})
	if err != nil {
		fail(err)
		return
	}
	if prep.Issuer != ir.issuer.Slug {
		fail(&issuing.InputError{Field: "achievement", Reason: "choose a badge of this issuer"})
		return
	}
	j, err := s.iss.StartJob(r.Context(), actor(ir.p), prep)
	if err != nil {
		fail(err)
		return
	}
	s.metrics.awarded.Add(float64(j.Total))
	redirectDone(ir, "/jobs/"+j.ID, "")
}

// jobPage shows a bulk award's progress; the script moves the bar, and
// without script the page refreshes itself until the job ends.
func (s *Server) jobPage(ir *issuerReq) {
	id := mux.Vars(ir.r)["id"]
	j, err := s.iss.Job(ir.r.Context(), id)
	if err == nil && j.Issuer != ir.issuer.Slug {
		err = issuing.ErrNotFound
	}
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	processed := j.Done + j.Failed
	pct := 100
	if j.Total > 0 {
		pct = 100 * processed / j.Total
	}
	finished := j.State == issuing.JobDone || j.State == issuing.JobFailed
	data := map[string]any{"API": "/api/v1/jobs/" + j.ID, "Total": j.Total, "Done": j.Done, "Failed": j.Failed, "Processed": processed,
		"Percent": pct, "State": j.State, "Finished": finished, "Errors": j.Errors}
	s.render(ir.pageReq, http.StatusOK, "job", s.issuerLayout(ir, ir.t("job.title"), data))
}

type pendingView struct {
	ID, Achievement, Recipients, Competencies, Level, Narrative, ProposedBy, Proposed string
}

func (s *Server) pendingPage(ir *issuerReq) {
	s.renderPending(ir, http.StatusOK, "")
}

func (s *Server) renderPending(ir *issuerReq, status int, msg string) {
	ctx := ir.r.Context()
	list, err := s.iss.PendingAwards(ctx, ir.issuer.Slug, issuing.PendingWaiting)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	names := map[string]string{}
	if opts, err := s.achievementOptions(ir); err == nil {
		for _, o := range opts {
			names[o.ID] = o.Name
		}
	}
	var items []pendingView
	for i := range list {
		pa := s.pendingOut(&list[i])
		var who []string
		for _, r := range pa.Recipients {
			who = append(who, strings.TrimSpace(r.Name+" <"+r.Email+">"))
		}
		items = append(items, pendingView{ID: pa.ID, Achievement: names[list[i].AchievementID], Recipients: strings.Join(who, ", "),
			Competencies: strings.Join(pa.Competencies, ", "), Level: pa.Level, Narrative: pa.Narrative, ProposedBy: pa.ProposedBy,
			Proposed: formatDate(ir.lang, list[i].CreatedAt)})
	}
	page := s.issuerLayout(ir, ir.t("pending.title"), map[string]any{"Items": items})
	page.Error = msg
	s.render(ir.pageReq, status, "pending", page)
}

func (s *Server) pendingDecide(ir *issuerReq) {
	ctx := ir.r.Context()
	v := mux.Vars(ir.r)
	pa, err := s.iss.PendingAward(ctx, v["id"])
	if err == nil && pa.Issuer != ir.issuer.Slug {
		err = issuing.ErrNotFound
	}
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	done := "pending.rejected"
	if v["action"] == "approve" {
		var creds []issuing.Credential
		_, creds, err = s.iss.ApproveAward(ctx, actor(ir.p), assessor(ir.p), pa.ID)
		s.metrics.awarded.Add(float64(len(creds)))
		done = "pending.approved"
	} else {
		_, err = s.iss.RejectAward(ctx, actor(ir.p), assessor(ir.p), pa.ID, strings.TrimSpace(ir.r.PostFormValue("reason")))
	}
	switch {
	case errors.Is(err, issuing.ErrSameAssessor):
		s.renderPending(ir, http.StatusForbidden, ir.t("pending.same"))
	case errors.Is(err, issuing.ErrAlreadyDecided):
		s.renderPending(ir, http.StatusConflict, ir.t("pending.decided"))
	case err != nil:
		s.pageFail(ir.pageReq, err)
	default:
		redirectDone(ir, "/pending", done)
	}
}

type achievementRow struct {
	ID, Name, Description, Type string
	Version                     int
	Codes                       []string
}

func (s *Server) achievementsPage(ir *issuerReq) {
	list, err := s.iss.Achievements(ir.r.Context(), ir.issuer.Slug)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var rows []achievementRow
	for i := range list {
		spec, err := list[i].Spec()
		if err != nil {
			s.pageFail(ir.pageReq, err)
			return
		}
		row := achievementRow{ID: list[i].ID, Name: spec.Name, Description: spec.Description, Type: spec.AchievementType, Version: list[i].Version}
		if web.HasMessage(ir.lang, "type."+row.Type) {
			row.Type = ir.t("type." + row.Type)
		}
		for _, al := range spec.Alignment {
			if al.TargetCode != "" {
				row.Codes = append(row.Codes, al.TargetCode)
			}
		}
		rows = append(rows, row)
	}
	s.render(ir.pageReq, http.StatusOK, "achievements", s.issuerLayout(ir, ir.t("achievements.title"), map[string]any{"Items": rows, "Admin": ir.admin()}))
}

var achievementTypes = []string{"Badge", "Competency", "Course", "CertificateOfCompletion", "MicroCredential", "LearningProgram", "Achievement"}

type pickerItem struct {
	ID, Code, Statement string
	Depth               int
	Checked             bool
}

type pickerFramework struct {
	Title   string
	Open    bool
	Checked int
	Items   []pickerItem
}

// achievementForm shows the form to create an achievement, or to edit one
// (a new version).
func (s *Server) achievementForm(ir *issuerReq) {
	form := map[string]string{"type": "Badge"}
	var checked map[string]bool
	if id, ok := mux.Vars(ir.r)["id"]; ok {
		a, spec, ok := s.ownAchievement(ir, id)
		if !ok {
			return
		}
		form = specForm(spec)
		form["id"] = a.ID
		checked = alignedItems(spec)
	}
	s.renderAchievementForm(ir, http.StatusOK, form, checked, "", "")
}

func (s *Server) ownAchievement(ir *issuerReq, id string) (*issuing.Achievement, issuing.AchievementSpec, bool) {
	var spec issuing.AchievementSpec
	if !issuing.IsUUID(id) {
		s.errorPage(ir.pageReq, http.StatusNotFound, "")
		return nil, spec, false
	}
	a, err := s.iss.Achievement(ir.r.Context(), id)
	if err == nil && a.Issuer != ir.issuer.Slug {
		err = issuing.ErrNotFound
	}
	if err == nil {
		spec, err = a.Spec()
	}
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return nil, spec, false
	}
	return a, spec, true
}

func specForm(spec issuing.AchievementSpec) map[string]string {
	f := map[string]string{"name": spec.Name, "description": spec.Description, "type": spec.AchievementType}
	if spec.Criteria != nil {
		f["criteria"] = spec.Criteria.Narrative
	}
	if spec.ValidForDays > 0 {
		f["validForDays"] = strconv.Itoa(spec.ValidForDays)
	}
	var levels []string
	for _, rd := range spec.ResultDescription {
		for _, l := range rd.RubricCriterionLevel {
			levels = append(levels, l.Name)
		}
	}
	f["levels"] = strings.Join(levels, "\n")
	return f
}

// alignedItems are the framework items (by identifier) an achievement
// aligns to.
func alignedItems(spec issuing.AchievementSpec) map[string]bool {
	out := map[string]bool{}
	for _, al := range spec.Alignment {
		if i := strings.LastIndex(al.TargetURL, "/CFItems/"); i >= 0 {
			out[al.TargetURL[i+len("/CFItems/"):]] = true
		}
	}
	return out
}

func (s *Server) renderAchievementForm(ir *issuerReq, status int, form map[string]string, checked map[string]bool, msg, field string) {
	var fws []pickerFramework
	if s.comp != nil {
		sn, err := s.comp.Latest(ir.r.Context())
		if err != nil {
			s.pageFail(ir.pageReq, err)
			return
		}
		for _, f := range sn.Frameworks {
			pf := pickerFramework{Title: f.Title}
			depth := itemDepths(f)
			for _, it := range f.Items {
				pi := pickerItem{ID: it.Identifier, Code: it.HumanCodingScheme, Statement: it.FullStatement, Depth: min(depth[it.Identifier], 2), Checked: checked[it.Identifier]}
				if pi.Checked {
					pf.Checked++
					pf.Open = true
				}
				pf.Items = append(pf.Items, pi)
			}
			fws = append(fws, pf)
		}
	}
	action := "/manage/" + ir.issuer.Slug + "/achievements/new"
	if form["id"] != "" {
		action = "/manage/" + ir.issuer.Slug + "/achievements/" + form["id"]
	}
	title := ir.t("achievement.new.title")
	if form["id"] != "" {
		title = ir.t("achievement.edit.title")
	}
	page := s.issuerLayout(ir, title, map[string]any{"ID": form["id"], "Form": form, "Types": achievementTypes, "Frameworks": fws, "Action": action})
	page.Error, page.ErrorField = msg, field
	s.render(ir.pageReq, status, "achievement_form", page)
}

func newURN() string { return "urn:uuid:" + uuid4() }

func uuid4() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// achievementSubmit creates an achievement, or a new version of one. An
// edit starts from the stored spec, so that what the form does not show
// (image, tags, other alignments) is kept.
func (s *Server) achievementSubmit(ir *issuerReq) {
	r := ir.r
	form := formValues(r)
	checked := map[string]bool{}
	for _, id := range r.PostForm["competency"] {
		checked[id] = true
	}
	var spec issuing.AchievementSpec
	var existing *issuing.Achievement
	if id, ok := mux.Vars(r)["id"]; ok {
		a, sp, ok := s.ownAchievement(ir, id)
		if !ok {
			return
		}
		existing, spec = a, sp
		form["id"] = a.ID
	}
	fail := func(msg, field string) {
		s.renderAchievementForm(ir, http.StatusBadRequest, form, checked, msg, field)
	}
	spec.Name = strings.TrimSpace(form["name"])
	spec.Description = strings.TrimSpace(form["description"])
	if spec.Criteria == nil {
		spec.Criteria = &badges.Criteria{}
	}
	spec.Criteria.Narrative = strings.TrimSpace(form["criteria"])
	spec.AchievementType = form["type"]
	spec.ValidForDays = 0
	if v := strings.TrimSpace(form["validForDays"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail(ir.t("form.invalid", ir.t("field.validfor"), "0 – 36500"), "validForDays")
			return
		}
		spec.ValidForDays = n
	}
	spec.ResultDescription = levelsScale(spec.ResultDescription, form["levels"], ir.t("field.level"))
	// Framework alignments come from the picker; others are kept.
	var kept []badges.Alignment
	for _, al := range spec.Alignment {
		if al.TargetType != "CFItem" {
			kept = append(kept, al)
		}
	}
	spec.Alignment = kept
	if len(checked) > 0 && s.comp != nil {
		var ids []string
		for _, id := range r.PostForm["competency"] {
			ids = append(ids, id)
		}
		als, err := s.comp.Resolve(r.Context(), "competencies", ids)
		if err != nil {
			msg, field, _ := formError(ir.pageReq, err)
			fail(msg, field)
			return
		}
		spec.Alignment = append(spec.Alignment, als...)
	}
	var err error
	done := "achievement.created"
	if existing != nil {
		_, err = s.iss.UpdateAchievement(r.Context(), actor(ir.p), existing.ID, spec)
		done = "achievement.updated"
	} else {
		_, err = s.iss.CreateAchievement(r.Context(), actor(ir.p), ir.issuer.Slug, spec)
	}
	if err != nil {
		if msg, field, ok := formError(ir.pageReq, err); ok {
			switch field {
			case "criteria.narrative":
				field = "criteria"
			case "achievementType":
				field = "type"
			}
			fail(msg, field)
			return
		}
		s.pageFail(ir.pageReq, err)
		return
	}
	redirectDone(ir, "/achievements", done)
}

// levelsScale turns the form's lines into a resultDescription of
// rubric levels, keeping the ids of levels that keep their name (so that
// awarded results still name a level of the new version).
func levelsScale(have []badges.ResultDescription, text, name string) []badges.ResultDescription {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	var out []badges.ResultDescription
	var rd *badges.ResultDescription
	for i := range have {
		if len(have[i].RubricCriterionLevel) > 0 && rd == nil {
			c := have[i]
			rd = &c
			continue
		}
		out = append(out, have[i])
	}
	if len(lines) == 0 {
		return out
	}
	if rd == nil {
		rd = &badges.ResultDescription{ID: newURN(), Type: []string{"ResultDescription"}, Name: name, ResultType: "RubricCriterionLevel"}
	}
	ids := map[string]string{}
	for _, l := range rd.RubricCriterionLevel {
		ids[l.Name] = l.ID
	}
	rd.RubricCriterionLevel = nil
	for _, l := range lines {
		id := ids[l]
		if id == "" {
			id = newURN()
		}
		rd.RubricCriterionLevel = append(rd.RubricCriterionLevel, badges.RubricCriterionLevel{ID: id, Type: []string{"RubricCriterionLevel"}, Name: l})
	}
	return append([]badges.ResultDescription{*rd}, out...)
}

type issuedRow struct {
	ID, Name, Email, Achievement, Issued, IssuedText, State string
}

func (s *Server) issuedPage(ir *issuerReq) {
	const per = 50
	offset, _ := strconv.Atoi(ir.r.URL.Query().Get("offset"))
	offset = max(offset, 0)
	list, total, err := s.iss.Credentials(ir.r.Context(), issuing.CredentialQuery{Issuer: ir.issuer.Slug, Limit: per, Offset: offset})
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	names := map[string]string{}
	if opts, err := s.achievementOptions(ir); err == nil {
		for _, o := range opts {
			names[o.ID] = o.Name
		}
	}
	var rows []issuedRow
	for _, c := range list {
		rows = append(rows, issuedRow{ID: c.ID, Name: c.RecipientName, Email: c.RecipientEmail, Achievement: names[c.AchievementID],
			Issued: c.CreatedAt.UTC().Format(time.RFC3339), IssuedText: formatDate(ir.lang, c.CreatedAt), State: c.State})
	}
	data := map[string]any{"Items": rows, "Total": total, "Admin": ir.admin()}
	base := "/manage/" + ir.issuer.Slug + "/credentials?offset="
	if offset > 0 {
		data["Prev"] = base + strconv.Itoa(max(offset-per, 0))
	}
	if offset+per < total {
		data["Next"] = base + strconv.Itoa(offset+per)
	}
	s.render(ir.pageReq, http.StatusOK, "credentials_admin", s.issuerLayout(ir, ir.t("issued.title"), data))
}

// issuedChange revokes, suspends or reinstates a credential.
func (s *Server) issuedChange(ir *issuerReq) {
	ctx := ir.r.Context()
	c, err := s.iss.Credential(ctx, mux.Vars(ir.r)["id"])
	if err == nil && c.Issuer != ir.issuer.Slug {
		err = issuing.ErrNotFound
	}
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	reason := strings.TrimSpace(ir.r.PostFormValue("reason"))
	switch ir.r.PostFormValue("action") {
	case "revoke":
		err = s.iss.Revoke(ctx, actor(ir.p), c.ID, reason)
	case "suspend":
		err = s.iss.Suspend(ctx, actor(ir.p), c.ID, reason)
	case "reinstate":
		err = s.iss.Reinstate(ctx, actor(ir.p), c.ID, reason)
	default:
		s.errorPage(ir.pageReq, http.StatusBadRequest, "")
		return
	}
	if err != nil {
		if msg, _, ok := formError(ir.pageReq, err); ok {
			s.errorPage(ir.pageReq, http.StatusBadRequest, msg)
			return
		}
		s.pageFail(ir.pageReq, err)
		return
	}
	redirectDone(ir, "/credentials", "credential.changed")
}

type keyRow struct{ Purpose, Alg, Public, Created, Retired string }

func (s *Server) keysPage(ir *issuerReq) {
	ks, err := s.iss.Keys(ir.r.Context(), ir.issuer.Slug)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var rows []keyRow
	for _, k := range ks {
		row := keyRow{Purpose: k.Purpose, Alg: string(k.Alg), Public: k.PublicMultibase, Created: formatDate(ir.lang, k.CreatedAt)}
		if k.RetiredAt != nil {
			row.Retired = formatDate(ir.lang, *k.RetiredAt)
		}
		rows = append(rows, row)
	}
	s.render(ir.pageReq, http.StatusOK, "keys", s.issuerLayout(ir, ir.t("keys.title"), map[string]any{"Keys": rows}))
}

func (s *Server) keysRotate(ir *issuerReq) {
	if _, err := s.iss.RotateKeys(ir.r.Context(), actor(ir.p), ir.issuer.Slug); err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	redirectDone(ir, "/keys", "keys.rotated")
}

type tokenRow struct {
	ID, Name, Role, Created, Revoked string
	Scopes                           []string
}

// tokensPage lists the issuer's API tokens and, on POST, creates one and
// shows it this once.
func (s *Server) tokensPage(ir *issuerReq) {
	ctx := ir.r.Context()
	var created, msg, field string
	status := http.StatusOK
	if ir.r.Method == http.MethodPost {
		role, err := auth.ParseRole(ir.r.PostFormValue("role"))
		if err == nil {
			var plain string
			plain, _, err = s.auth.IssueToken(ctx, ir.p, ir.issuer.Slug, strings.TrimSpace(ir.r.PostFormValue("name")), role, ir.r.PostForm["scope"])
			created = plain
		}
		if err != nil {
			m, f, ok := formError(ir.pageReq, err)
			if !ok {
				s.pageFail(ir.pageReq, err)
				return
			}
			msg, field, status = m, f, http.StatusBadRequest
		} else {
			status = http.StatusCreated
		}
	}
	ts, err := s.auth.Tokens(ctx, ir.p, ir.issuer.Slug)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var rows []tokenRow
	for _, t := range ts {
		row := tokenRow{ID: t.ID, Name: t.Name, Role: string(t.Role), Scopes: t.Scopes, Created: formatDate(ir.lang, t.CreatedAt)}
		if t.RevokedAt != nil {
			row.Revoked = formatDate(ir.lang, *t.RevokedAt)
		}
		rows = append(rows, row)
	}
	page := s.issuerLayout(ir, ir.t("tokens.title"), map[string]any{"Tokens": rows, "Created": created, "Scopes": auth.AllowedScopes(auth.RoleAdmin)})
	page.Error, page.ErrorField = msg, field
	s.render(ir.pageReq, status, "tokens", page)
}

func (s *Server) tokenRevoke(ir *issuerReq) {
	if err := s.auth.RevokeToken(ir.r.Context(), ir.p, ir.issuer.Slug, mux.Vars(ir.r)["id"]); err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	redirectDone(ir, "/tokens", "token.revoked")
}

// membersPage gives a person a role on the issuer.
func (s *Server) membersPage(ir *issuerReq) {
	form := map[string]string{}
	var msg, field string
	status := http.StatusOK
	if ir.r.Method == http.MethodPost {
		form = formValues(ir.r)
		role, err := auth.ParseRole(form["role"])
		if err == nil {
			_, err = s.auth.AddMember(ir.r.Context(), ir.p, ir.issuer.Slug, strings.TrimSpace(form["email"]), strings.TrimSpace(form["name"]),
				ir.r.PostFormValue("password"), role)
		}
		if err == nil {
			redirectDone(ir, "/members", "member.added")
			return
		}
		m, f, ok := formError(ir.pageReq, err)
		if !ok {
			s.pageFail(ir.pageReq, err)
			return
		}
		msg, field, status = m, f, http.StatusBadRequest
	}
	page := s.issuerLayout(ir, ir.t("members.title"), map[string]any{"Form": form})
	page.Error, page.ErrorField = msg, field
	s.render(ir.pageReq, status, "members", page)
}

type chartView struct {
	Name, Title, Src, Alt string
	Rows                  []competency.Count
}

// statisticsPage shows the issuer's charts (SVG drawn by the server) with
// their numbers in tables, for those who do not see the charts.
func (s *Server) statisticsPage(ir *issuerReq) {
	st, err := s.comp.Statistics(ir.r.Context(), ir.issuer.Slug)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var charts []chartView
	add := func(name string, rows []competency.Count) {
		title := ir.t("stats." + name)
		charts = append(charts, chartView{Name: name, Title: title, Src: "/api/v1/statistics/" + name + ".svg?issuer=" + url.QueryEscape(ir.issuer.Slug),
			Alt: ir.t("stats.alt", title), Rows: rows})
	}
	add("items", st.ByItem)
	add("academies", st.ByAcademie)
	add("departements", st.ByDepartement)
	add("disciplines", st.ByDiscipline)
	add("months", st.ByMonth)
	s.render(ir.pageReq, http.StatusOK, "statistics", s.issuerLayout(ir, ir.t("stats.title"), map[string]any{"Charts": charts, "Lead": ir.t("stats.lead", st.Total)}))
}
