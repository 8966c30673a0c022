package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/moodle"
)

// completionsJSON answers an import or a pull.
type completionsJSON struct {
	Learners    int      `json:"learners"`    // rows of the report, or users enrolled
	Completions int      `json:"completions"` // completions found
	Recorded    int      `json:"recorded"`
	Duplicates  int      `json:"duplicates"`
	Awarded     []string `json:"awarded,omitempty"`
	Jobs        []string `json:"jobs,omitempty"`
	// NoEmail lists the Moodle user ids of a pull whose address the
	// token may not see: their completions could not be recorded.
	NoEmail []string `json:"noEmail,omitempty"`
}

// courseFromQuery reads the identifiers of the course a report or a
// pull is about.
func courseFromQuery(q url.Values) completion.Activity {
	return completion.Activity{
		ID: q.Get("activity"), MoodleCourseID: q.Get("course"), CourseShortName: q.Get("shortname"), Name: q.Get("name"),
		GAIADispositif: q.Get("gaiaDispositif"), GAIAModule: q.Get("gaiaModule"), GAIASession: q.Get("gaiaSession"), Matricule: q.Get("matricule"),
	}
}

// importCompletionsCSV reads the CSV download of Moodle's course
// completion report for one course, named in the query (course, site,
// shortname, activity, gaia…, matricule), and records its completions
// for the issuer. Trainers and admins of the issuer may, with a token's
// awards:write scope.
func (s *Server) importCompletionsCSV(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	slug, ok := s.issuerFor(w, r, p, q.Get("issuer"), auth.RoleTrainer, auth.ScopeAward)
	if !ok {
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "text/csv") && !strings.HasPrefix(ct, "application/csv") && !strings.HasPrefix(ct, "text/plain") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the report as text/csv, not "+clipString(ct), "")
		return
	}
	course := courseFromQuery(q)
	if site := strings.TrimSuffix(q.Get("site"), "/"); site != "" && course.ID == "" && course.MoodleCourseID != "" {
		course.ID = site + "/course/view.php?id=" + course.MoodleCourseID
	}
	if course.MoodleCourseID != "" {
		if n, err := strconv.ParseUint(course.MoodleCourseID, 10, 63); err != nil || n == 0 {
			writeError(w, http.StatusBadRequest, "invalid", "course must be a Moodle course id (a positive number)", "course")
			return
		}
	}
	if course == (completion.Activity{}) {
		writeError(w, http.StatusBadRequest, "invalid", "name the course the report is of: course (Moodle id) with site, activity (xAPI id), shortname, gaiaDispositif/gaiaModule/gaiaSession or matricule", "course")
		return
	}
	loc := time.UTC
	if tz := q.Get("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") {
			writeError(w, http.StatusBadRequest, "invalid", "tz must be a time zone name such as Europe/Paris", "tz")
			return
		}
		loc = l
	} else if paris, err := time.LoadLocation("Europe/Paris"); err == nil {
		// The report's dates are in the downloader's time zone; Magistère
		// runs in Paris (overseas académies pass tz).
		loc = paris
	}
	body, ok := readBody(w, r, moodle.MaxCSV)
	if !ok {
		return
	}
	rep, err := moodle.ParseCompletionReport(body, course, loc)
	var ie *moodle.InputError
	switch {
	case errors.As(err, &ie):
		writeError(w, http.StatusBadRequest, "invalid_csv", ie.Error(), "csv")
		return
	case errors.Is(err, moodle.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error(), "")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	for i := range rep.Completions {
		rep.Completions[i].Client = slug + "/" + actor(p)
	}
	res, ok := s.record(w, r, slug, rep.Completions)
	if !ok {
		return
	}
	s.log.InfoContext(r.Context(), "completion report imported", "issuer", slug, "by", actor(p), "completions", len(rep.Completions))
	writeJSON(w, http.StatusOK, completionsJSON{Learners: rep.Learners, Completions: len(rep.Completions), Recorded: res.Recorded,
		Duplicates: res.Duplicates, Awarded: res.Awarded, Jobs: res.Jobs})
}

// moodleGetter is the outbound client for a Moodle site: fetch's rules
// (public addresses only) unless the site is one of the configured
// Moodle base URLs, which may live on the internal network.
func (s *Server) moodleGetter(site string) moodle.Getter {
	for _, allowed := range s.moodleAllowed {
		a := strings.TrimSuffix(allowed, "/")
		if site == a || strings.HasPrefix(site, a+"/") {
			return s.moodleTrusted
		}
	}
	return s.moodlePublic
}

// moodlePull calls a Moodle site's web services with a token and records
// the completions of a course. The token is used for this call only and
// never stored or logged.
func (s *Server) moodlePull(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in struct {
		Issuer         string `json:"issuer"`
		URL            string `json:"url"`
		Token          string `json:"token"`
		CourseID       int64  `json:"courseid"`
		ShortName      string `json:"shortname"`
		GAIADispositif string `json:"gaiaDispositif"`
		GAIAModule     string `json:"gaiaModule"`
		GAIASession    string `json:"gaiaSession"`
		Matricule      string `json:"matricule"`
	}
	if !decode(w, r, &in) {
		return
	}
	slug, ok := s.issuerFor(w, r, p, in.Issuer, auth.RoleTrainer, auth.ScopeAward)
	if !ok {
		return
	}
	if in.CourseID <= 0 {
		writeError(w, http.StatusBadRequest, "invalid", "courseid must be a Moodle course id (a positive number)", "courseid")
		return
	}
	site := strings.TrimSuffix(strings.TrimSpace(in.URL), "/")
	c, err := moodle.NewClient(s.moodleGetter(site), site, in.Token)
	var ie *moodle.InputError
	if errors.As(err, &ie) {
		writeError(w, http.StatusBadRequest, "invalid", ie.Reason, ie.Column)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	course := completion.Activity{CourseShortName: in.ShortName, GAIADispositif: in.GAIADispositif, GAIAModule: in.GAIAModule,
		GAIASession: in.GAIASession, Matricule: in.Matricule}
	res, err := moodle.Pull(r.Context(), c, in.CourseID, course, time.Now())
	// Moodle's refusals and failures are the caller's to fix (token,
	// address, course): 422, not a 5xx of Insigne's.
	var me *moodle.Error
	switch {
	case errors.As(err, &me):
		writeError(w, http.StatusUnprocessableEntity, "moodle_error", me.Error(), "")
		return
	case errors.Is(err, moodle.ErrResponse), errors.Is(err, moodle.ErrUnreachable):
		writeError(w, http.StatusUnprocessableEntity, "moodle_unreachable", err.Error(), "url")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	for i := range res.Completions {
		res.Completions[i].Client = slug + "/" + actor(p)
	}
	rec, ok := s.record(w, r, slug, res.Completions)
	if !ok {
		return
	}
	s.log.InfoContext(r.Context(), "Moodle completions pulled", "issuer", slug, "by", actor(p), "site", res.Site, "course", in.CourseID, "completions", len(res.Completions))
	writeJSON(w, http.StatusOK, completionsJSON{Learners: res.Enrolled, Completions: len(res.Completions), Recorded: rec.Recorded,
		Duplicates: rec.Duplicates, Awarded: rec.Awarded, Jobs: rec.Jobs, NoEmail: res.NoEmail})
}
