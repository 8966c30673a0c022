package attest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
)

// Config is what a Service is built from.
type Config struct {
	Store   Store
	Issuing *issuing.Service
	// Verifier checks credentials (with the Extractor, for PDFs); it
	// resolves this service's own status lists.
	Verifier   *badges.Verifier
	Frameworks []competency.Framework
	BaseURL    string
	Now        func() time.Time
	Log        *slog.Logger
	// Lease is how long a batch stays with a worker that gives no news.
	Lease time.Duration
}

// Service issues and verifies attestations. Like issuing, it keeps no
// state in memory that another node would need.
type Service struct {
	store      Store
	iss        *issuing.Service
	verifier   *badges.Verifier
	frameworks []competency.Framework
	base       string
	now        func() time.Time
	log        *slog.Logger
	lease      time.Duration
	wake       chan struct{}
	deflaters  deflaters
	// render makes a PDF; tests put a failing one in its place.
	render func(rendering, *deflaters) ([]byte, error)
}

// New returns a Service.
func New(c Config) *Service {
	s := &Service{store: c.Store, iss: c.Issuing, verifier: c.Verifier, frameworks: c.Frameworks,
		base: strings.TrimRight(c.BaseURL, "/"), now: c.Now, log: c.Log, lease: c.Lease, wake: make(chan struct{}, 1), render: render}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.lease <= 0 {
		s.lease = 15 * time.Second
	}
	return s
}

// VerifyURL is where the QR code and the printed link lead.
func (s *Service) VerifyURL(code string) string { return s.base + "/v/" + code }

// PDFURL is where an attestation's PDF is downloaded.
func (s *Service) PDFURL(id string) string { return s.base + "/api/v1/attestations/" + id + "/pdf" }

// BatchURL is where a batch's progress is read.
func (s *Service) BatchURL(id string) string { return s.base + "/api/v1/attestations/batches/" + id }

// competencies resolves item codes against the official frameworks.
func (s *Service) competencies(codes []string) ([]Competency, []badges.Alignment, error) {
	var out []Competency
	var al []badges.Alignment
	seen := map[string]bool{}
	for i, code := range codes {
		code = strings.TrimSpace(code)
		if seen[code] {
			continue
		}
		seen[code] = true
		found := false
		for _, f := range s.frameworks {
			if it, ok := f.Item(code); ok {
				a := competency.Alignment(f, it, s.base)
				al = append(al, a)
				out = append(out, Competency{Code: code, Statement: it.FullStatement, Framework: f.Title, URL: a.TargetURL})
				found = true
				break
			}
		}
		if !found {
			return nil, nil, inputErr(fmt.Sprintf("competencies[%d]", i), "%q is not an item of the official frameworks (CC1–CC14, P1–P5, D1–D4, CPE1–CPE8, F1–F4 and their items)", code)
		}
	}
	return out, al, nil
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Result types of the durations: machine-readable, in hours, under
// OB 3.0's "ext:" extension of ResultType.
const (
	ResultHoursInPerson = "ext:HoursInPerson"
	ResultHoursRemote   = "ext:HoursRemote"
)

// training is a training checked and resolved, ready to issue.
type training struct {
	t      Training
	comps  []Competency
	issuer *issuing.Issuer
	achID  string
	// result description ids of the two durations
	rdIn, rdRemote string
}

func hoursValue(h float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", h), "0"), ".")
}

// prepareTraining checks a training and finds or creates its achievement:
// the training is what every credential of the session attests. Requests
// for the same training share one achievement (see trainingKey).
func (s *Service) prepareTraining(ctx context.Context, actor string, t Training) (*training, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	iss, err := s.iss.Issuer(ctx, t.Issuer)
	if errors.Is(err, issuing.ErrNotFound) {
		return nil, inputErr("issuer", "no issuer %q", t.Issuer)
	}
	if err != nil {
		return nil, err
	}
	comps, al, err := s.competencies(t.Competencies)
	if err != nil {
		return nil, err
	}
	tr := &training{t: t, comps: comps, issuer: iss}
	spec := achievementSpec(t, al)
	key, err := trainingKey(spec)
	if err != nil {
		return nil, err
	}
	spec.ResultDescription[0].ID, spec.ResultDescription[1].ID = "urn:uuid:"+newUUID(), "urn:uuid:"+newUUID()
	a, created, err := s.iss.FindOrCreateAchievement(ctx, actor, t.Issuer, key, spec)
	if err != nil {
		return nil, fmt.Errorf("attestation: %w", err)
	}
	tr.achID = a.ID
	if created {
		tr.rdIn, tr.rdRemote = spec.ResultDescription[0].ID, spec.ResultDescription[1].ID
		return tr, nil
	}
	// The durations' result descriptions of the achievement found: its
	// credentials' results must name them.
	found, err := a.Spec()
	if err != nil {
		return nil, err
	}
	for _, rd := range found.ResultDescription {
		switch rd.ResultType {
		case ResultHoursInPerson:
			tr.rdIn = rd.ID
		case ResultHoursRemote:
			tr.rdRemote = rd.ID
		}
	}
	if tr.rdIn == "" || tr.rdRemote == "" {
		return nil, fmt.Errorf("attestation: the achievement %s of this training no longer describes its durations (%s, %s)", a.ID, ResultHoursInPerson, ResultHoursRemote)
	}
	return tr, nil
}

// achievementSpec is the achievement a training makes, its result
// descriptions without ids.
func achievementSpec(t Training, al []badges.Alignment) issuing.AchievementSpec {
	mod := Modality(t.HoursInPerson, t.HoursRemote)
	period := "du " + dateOf(t.Start) + " au " + dateOf(t.End)
	if t.Start == t.End {
		period = "le " + dateOf(t.Start)
	}
	desc := fmt.Sprintf("Attestation de formation : %s. Organisée par %s %s ; durée en présence %s, à distance %s (%s).",
		t.Title, t.Organiser, period, Hours(t.HoursInPerson), Hours(t.HoursRemote), mod)
	if len(t.Trainers) > 0 {
		desc += " Formateurs : " + strings.Join(t.Trainers, ", ") + "."
	}
	var spec issuing.AchievementSpec
	spec.Name = t.Title
	spec.Description = desc
	spec.AchievementType = "CertificateOfCompletion"
	spec.InLanguage = "fr"
	spec.ValidForDays = t.ValidForDays
	spec.Criteria = &badges.Criteria{Narrative: fmt.Sprintf("Avoir suivi la formation « %s » (%s), attesté par %s, %s.",
		t.Title, mod, t.Signatory.Name, t.Signatory.Role)}
	spec.Alignment = al
	spec.Tag = []string{"attestation de formation", mod}
	for _, id := range []struct{ v, kind string }{{t.Parcours, "ext:MagistereParcours"}, {t.GaiaDispositif, "ext:GaiaDispositif"},
		{t.GaiaModule, "ext:GaiaModule"}, {t.GaiaSession, "ext:GaiaSession"}} {
		if strings.TrimSpace(id.v) != "" {
			spec.OtherIdentifier = append(spec.OtherIdentifier, badges.IdentifierEntry{Type: "IdentifierEntry", Identifier: id.v, IdentifierType: id.kind})
		}
	}
	spec.ResultDescription = []badges.ResultDescription{
		{Type: []string{"ResultDescription"}, Name: "Durée en présence (heures)", ResultType: ResultHoursInPerson, ValueMin: "0"},
		{Type: []string{"ResultDescription"}, Name: "Durée à distance (heures)", ResultType: ResultHoursRemote, ValueMin: "0"},
	}
	return spec
}

// trainingKey names a training's achievement among its issuer's: the
// SHA-256 of the achievement it makes (before its result descriptions get
// ids). The same training is then everything the achievement states
// (title, identifiers, dates, durations, organiser, trainers, signatory,
// competencies, validity): two sessions that differ in any of them would
// otherwise share a description that is false for one of them. What is
// only printed (the signature image, the place) is not part of it.
func trainingKey(spec issuing.AchievementSpec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "attestation-training:" + hex.EncodeToString(sum[:]), nil
}

func (tr *training) award(learners []Learner) issuing.AwardRequest {
	start, _ := time.Parse("2006-01-02", tr.t.Start)
	end, _ := time.Parse("2006-01-02", tr.t.End)
	req := issuing.AwardRequest{Achievement: tr.achID, ActivityStartDate: &start, ActivityEndDate: &end,
		Results: []badges.Result{
			{Type: []string{"Result"}, ResultDescription: tr.rdIn, Value: hoursValue(tr.t.HoursInPerson)},
			{Type: []string{"Result"}, ResultDescription: tr.rdRemote, Value: hoursValue(tr.t.HoursRemote)},
		}}
	for _, l := range learners {
		req.Recipients = append(req.Recipients, issuing.RecipientInput{Email: strings.TrimSpace(l.Email), Name: strings.TrimSpace(l.Name)})
	}
	return req
}

// rendered is one learner's attestation, made from a credential signed
// but not stored yet.
type rendered struct {
	att   Attestation
	cred  issuing.Credential
	audit issuing.AuditEntry
	// err: the PDF could not be made; the credential must not be stored.
	err error
}

// issueAll signs one credential per learner and renders their PDFs, in
// parallel, before anything is stored; keep then stores the attestations
// it keeps with their credentials and audit entries, in one transaction
// (Store.CreateAttestations), so that no credential is stored without the
// attestation that delivers it. keep may be called again with credentials
// signed anew when another node took a status index meanwhile.
func (s *Service) issueAll(ctx context.Context, actor string, tr *training, learners []Learner, keep func([]rendered) error) error {
	p, err := s.iss.Prepare(ctx, tr.award(learners))
	if err != nil {
		return err
	}
	return s.iss.AwardWith(ctx, actor, p, func(creds []issuing.Credential, audit []issuing.AuditEntry) error {
		rows := make([]rendered, len(creds))
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(runtime.GOMAXPROCS(0), len(creds)) {
			wg.Go(func() {
				for i := range next {
					rows[i].att, rows[i].err = s.renderOne(actor, tr, learners[i], creds[i])
					rows[i].cred, rows[i].audit = creds[i], audit[i]
				}
			})
		}
		for i := range creds {
			next <- i
		}
		close(next)
		wg.Wait()
		// Stopped meanwhile: what failed may have failed for that, and
		// nothing is to be recorded.
		if err := ctx.Err(); err != nil {
			return err
		}
		return keep(rows)
	})
}

// store stores the rows that rendered, with their credentials, and the
// progress of a batch when p is not nil, in one transaction.
func (s *Service) storeRows(ctx context.Context, rows []rendered, p *BatchProgress) error {
	as := make([]Attestation, 0, len(rows))
	creds := make([]issuing.Credential, 0, len(rows))
	audit := make([]issuing.AuditEntry, 0, len(rows))
	for _, r := range rows {
		if r.err == nil {
			as, creds, audit = append(as, r.att), append(creds, r.cred), append(audit, r.audit)
		}
	}
	return s.store.CreateAttestations(ctx, as, creds, audit, p)
}

// renderOne makes the attestation of one signed credential: its record
// and its PDF.
func (s *Service) renderOne(actor string, tr *training, l Learner, c issuing.Credential) (_ Attestation, err error) {
	// The PDF library panics on some inputs; from this goroutine a panic
	// would end the whole process, not just the request.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("attest: rendering the PDF: %v", v)
		}
	}()
	a := Attestation{ID: newUUID(), Code: newCode(), Issuer: tr.issuer.Slug, CredentialID: c.ID,
		LearnerEmail: badges.NormalizeEmail(l.Email), LearnerName: strings.TrimSpace(l.Name), CreatedBy: actor, CreatedAt: s.now()}
	t := tr.t
	t.Signatory.Image = nil // printed, not repeated in the record
	a.Fields = Fields{Learner: Learner{Email: a.LearnerEmail, Name: a.LearnerName}, Training: t, Competencies: tr.comps,
		Modality: Modality(t.HoursInPerson, t.HoursRemote), IssuedAt: c.CreatedAt.UTC().Truncate(time.Second), IssuerName: tr.issuer.Name}
	pf := a.Fields
	pf.Training.Signatory.Image = tr.t.Signatory.Image
	pdf, err := s.render(rendering{Fields: pf, Code: a.Code, VerifyURL: s.VerifyURL(a.Code), Credential: c.Signed}, &s.deflaters)
	if err != nil {
		return a, fmt.Errorf("attest: rendering the PDF: %w", err)
	}
	sum := sha256.Sum256(pdf)
	a.PDF, a.PDFSHA256, a.PDFSize = pdf, hex.EncodeToString(sum[:]), int64(len(pdf))
	return a, nil
}

// Issue makes one attestation: its training finds or becomes an
// achievement, the credential is signed by the issuer, the PDF rendered,
// and both stored together with the PDF's SHA-256; when the PDF cannot be
// made, nothing is stored.
func (s *Service) Issue(ctx context.Context, actor string, req Request) (*Attestation, error) {
	if err := checkLearner("learner", req.Learner); err != nil {
		return nil, err
	}
	if err := req.Training.check(); err != nil {
		return nil, err
	}
	tr, err := s.prepareTraining(ctx, actor, req.Training)
	if err != nil {
		return nil, err
	}
	var a Attestation
	err = s.issueAll(ctx, actor, tr, []Learner{req.Learner}, func(rows []rendered) error {
		if rows[0].err != nil {
			return rows[0].err
		}
		a = rows[0].att
		return s.storeRows(ctx, rows, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("attestation: %w", err)
	}
	s.log.InfoContext(ctx, "attestation", "issuer", tr.issuer.Slug, "id", a.ID, "credential", a.CredentialID, "actor", actor)
	return &a, nil
}

// Attestation returns a stored attestation.
func (s *Service) Attestation(ctx context.Context, id string) (*Attestation, error) {
	if !issuing.IsUUID(id) {
		return nil, fmt.Errorf("attestation %q: %w", id, ErrNotFound)
	}
	return s.store.Attestation(ctx, id)
}

// MaxListed caps the attestations and batches one listing returns.
const MaxListed = 200

// LearnerAttestations lists the attestations issued to any of a learner's
// addresses, newest first (at most MaxListed).
func (s *Service) LearnerAttestations(ctx context.Context, emails []string) ([]Attestation, error) {
	norm := make([]string, 0, len(emails))
	for _, e := range emails {
		if e = badges.NormalizeEmail(e); e != "" && !slices.Contains(norm, e) {
			norm = append(norm, e)
		}
	}
	if len(norm) == 0 {
		return nil, nil
	}
	return s.store.LearnerAttestations(ctx, norm, MaxListed)
}

// Batches lists an issuer's attestation batches, newest first (at most
// MaxListed).
func (s *Service) Batches(ctx context.Context, issuer string) ([]Batch, error) {
	return s.store.Batches(ctx, issuer, MaxListed)
}

// PDF returns the delivered PDF of an attestation.
func (s *Service) PDF(ctx context.Context, a *Attestation) ([]byte, error) {
	if a.PDF != nil {
		return a.PDF, nil
	}
	return s.store.AttestationPDF(ctx, a.ID)
}

// MergedPDF returns the merged PDF of a batch made with output "pdf",
// once it is done; ErrNotFound otherwise.
func (s *Service) MergedPDF(ctx context.Context, b *Batch) ([]byte, error) {
	if b.MergedSHA256 == "" {
		return nil, fmt.Errorf("merged PDF of batch %s: %w", b.ID, ErrNotFound)
	}
	return s.store.MergedPDF(ctx, b.ID)
}
