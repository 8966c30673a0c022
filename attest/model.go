// Package attest makes training attestations ("attestations de
// formation"): an A4 PDF in French for one participant, with the signed
// Open Badges 3.0 credential it stands for attached inside, a QR code and a
// short code leading to {base}/v/{code}; the collective attendance report
// of a session; batches of attestations as a ZIP or one merged PDF; and the verification of
// an attestation (the PDF, its code, or its credential) for HR.
//
// The credential is issued by the issuing service, so that revocation,
// keys and audit work as for any badge; attest knows neither HTTP nor SQL.
package attest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/insigne/insigne/issuing"
)

// Learner is the participant an attestation is for.
type Learner struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Signatory signs the attestation on paper; the credential is signed by
// the issuer's key.
type Signatory struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Image is an optional PNG or JPEG of the handwritten signature,
	// base64 in JSON.
	Image []byte `json:"image,omitempty"`
}

// Training is what every attestation of one session shares: the
// training, its durations and who ran it.
type Training struct {
	Issuer string `json:"issuer"`
	Title  string `json:"title"`
	// Parcours is the Magistère parcours matricule (16 | NGS | ALGOCODAGE |
	// 1.0); the GAIA identifiers are those of the PAF, when known.
	Parcours       string   `json:"parcours,omitempty"`
	GaiaDispositif string   `json:"gaiaDispositif,omitempty"`
	GaiaModule     string   `json:"gaiaModule,omitempty"`
	GaiaSession    string   `json:"gaiaSession,omitempty"`
	Start          string   `json:"start"` // YYYY-MM-DD
	End            string   `json:"end"`
	HoursInPerson  float64  `json:"hoursInPerson"`
	HoursRemote    float64  `json:"hoursRemote"`
	Organiser      string   `json:"organiser"`
	Trainers       []string `json:"trainers"`
	// Competencies are item codes of the official frameworks (CC14, F1.5).
	Competencies []string  `json:"competencies,omitempty"`
	Signatory    Signatory `json:"signatory"`
	// Place is where the attestation is issued ("Fait à …").
	Place string `json:"place,omitempty"`
	// ValidForDays, when set, makes the credentials expire that many days
	// after issue (an attestation normally never expires).
	ValidForDays int `json:"validForDays,omitempty"`
}

// Request asks for one attestation.
type Request struct {
	Training
	Learner Learner `json:"learner"`
}

// Competency is an item of an official framework as the attestation prints
// it.
type Competency struct {
	Code      string `json:"code"`
	Statement string `json:"statement"`
	Framework string `json:"framework"`
	URL       string `json:"url"`
}

// Fields is everything printed on an attestation: what HR compares with
// the credential when a file was modified.
type Fields struct {
	Learner      Learner      `json:"learner"`
	Training     Training     `json:"training"`
	Competencies []Competency `json:"competencies,omitempty"`
	Modality     string       `json:"modality"`
	IssuedAt     time.Time    `json:"issuedAt"`
	IssuerName   string       `json:"issuerName"`
}

// Attestation is an issued attestation as stored.
type Attestation struct {
	ID           string
	Code         string
	Issuer       string
	CredentialID string
	LearnerEmail string
	LearnerName  string
	BatchID      string
	BatchRow     int
	Fields       Fields
	PDFSHA256    string
	PDFSize      int64
	// PDF is the delivered file; only CreateAttestations and
	// AttestationPDF carry it.
	PDF       []byte
	CreatedBy string
	CreatedAt time.Time
}

// Errors the store returns.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// InputError is a problem with a request, naming the field.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Modalities, derived from the durations.
const (
	Presentiel = "présentiel"
	Distanciel = "distanciel"
	Hybride    = "hybride"
)

// Modality is présentiel, distanciel or hybride from the durations.
func Modality(inPerson, remote float64) string {
	switch {
	case inPerson > 0 && remote > 0:
		return Hybride
	case remote > 0:
		return Distanciel
	}
	return Presentiel
}

// maxText caps every free text of a request.
const maxText = 300

func checkText(field, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return inputErr(field, "is required")
	}
	if len(v) > maxText {
		return inputErr(field, "is longer than %d characters", maxText)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return inputErr(field, "contains a control character")
		}
	}
	return nil
}

func parseDate(field, v string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return t, inputErr(field, "%q is not a date (YYYY-MM-DD)", v)
	}
	return t, nil
}

func checkHours(field string, v float64) error {
	if math.IsNaN(v) || v < 0 || v > 10000 {
		return inputErr(field, "must be a number of hours between 0 and 10000")
	}
	// Quarters of an hour at most: durations print as "1 h 15".
	if v*4 != math.Trunc(v*4) {
		return inputErr(field, "must be in quarters of an hour (1.25, 1.5…)")
	}
	return nil
}

// check validates a training, naming the field at fault.
func (t *Training) check() error {
	if err := checkText("title", t.Title, true); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"parcours", t.Parcours}, {"gaiaDispositif", t.GaiaDispositif},
		{"gaiaModule", t.GaiaModule}, {"gaiaSession", t.GaiaSession}, {"place", t.Place}} {
		if err := checkText(f.name, f.v, false); err != nil {
			return err
		}
	}
	start, err := parseDate("start", t.Start)
	if err != nil {
		return err
	}
	end, err := parseDate("end", t.End)
	if err != nil {
		return err
	}
	if end.Before(start) {
		return inputErr("end", "is before start")
	}
	if err := checkHours("hoursInPerson", t.HoursInPerson); err != nil {
		return err
	}
	if err := checkHours("hoursRemote", t.HoursRemote); err != nil {
		return err
	}
	if t.HoursInPerson+t.HoursRemote == 0 {
		return inputErr("hoursInPerson", "the training lasts 0 hours: give hoursInPerson and/or hoursRemote")
	}
	if err := checkText("organiser", t.Organiser, true); err != nil {
		return err
	}
	if len(t.Trainers) > 20 {
		return inputErr("trainers", "at most 20 trainers")
	}
	for i, tr := range t.Trainers {
		if err := checkText("trainers["+strconv.Itoa(i)+"]", tr, true); err != nil {
			return err
		}
	}
	if len(t.Competencies) > 30 {
		return inputErr("competencies", "at most 30 competencies")
	}
	if t.ValidForDays < 0 || t.ValidForDays > 36500 {
		return inputErr("validForDays", "must be between 0 and 36500")
	}
	if err := checkText("signatory.name", t.Signatory.Name, true); err != nil {
		return err
	}
	if err := checkText("signatory.role", t.Signatory.Role, true); err != nil {
		return err
	}
	if len(t.Signatory.Image) > 512<<10 {
		return inputErr("signatory.image", "is larger than 512 KiB")
	}
	if len(t.Signatory.Image) > 0 {
		if err := checkImage(t.Signatory.Image); err != nil {
			return err
		}
	}
	return nil
}

// maxImagePixels bounds a signature image: the PDF library inflates a
// PNG with transparency whole in memory.
const maxImagePixels = 1 << 20

// checkImage decodes a signature image whole, so that one whose data
// does not match its header (which the PDF library does not check, and
// panics on) or that inflates beyond a signature's size is refused here;
// and refuses what the PDF library cannot embed.
func checkImage(b []byte) error {
	var (
		cfg image.Config
		err error
	)
	switch imageType(b) {
	case "PNG":
		// IHDR: bit depth at 24, interlace method at 28.
		if len(b) < 29 {
			return inputErr("signatory.image", "is a truncated PNG image")
		}
		if b[24] > 8 {
			return inputErr("signatory.image", "is a 16-bit PNG: save it with 8 bits per channel")
		}
		if b[28] != 0 {
			return inputErr("signatory.image", "is an interlaced PNG: save it without interlacing")
		}
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	case "JPG":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	default:
		return inputErr("signatory.image", "must be a PNG or JPEG image")
	}
	if err != nil {
		return inputErr("signatory.image", "is not a readable image: %v", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return inputErr("signatory.image", "is %d×%d pixels: a signature needs at most %d pixels", cfg.Width, cfg.Height, maxImagePixels)
	}
	if imageType(b) == "PNG" {
		_, err = png.Decode(bytes.NewReader(b))
	} else {
		_, err = jpeg.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return inputErr("signatory.image", "is not a readable image: %v", err)
	}
	return nil
}

func checkLearner(field string, l Learner) error {
	a, err := mail.ParseAddress(l.Email)
	if err != nil || a.Address != strings.TrimSpace(l.Email) || a.Name != "" {
		return inputErr(field+".email", "%q is not an e-mail address", l.Email)
	}
	return checkText(field+".name", l.Name, true)
}

// imageType sniffs a signature image: "PNG", "JPG" or "".
func imageType(b []byte) string {
	switch {
	case strings.HasPrefix(string(b), "\x89PNG\r\n\x1a\n"):
		return "PNG"
	case len(b) > 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return "JPG"
	}
	return ""
}

// Store is the storage attestations need.
type Store interface {
	// CreateAttestations stores attestations with the credentials they
	// deliver and the credentials' audit entries; when p is not nil, the
	// batch's progress moves in the same transaction. issuing.ErrConflict
	// when a credential's status index is taken, ErrConflict when a code
	// or a batch row is: nothing is written.
	CreateAttestations(ctx context.Context, as []Attestation, creds []issuing.Credential, audit []issuing.AuditEntry, p *BatchProgress) error
	Attestation(ctx context.Context, id string) (*Attestation, error)
	AttestationByCode(ctx context.Context, code string) (*Attestation, error)
	AttestationBySHA256(ctx context.Context, sha string) (*Attestation, error)
	AttestationByCredential(ctx context.Context, credentialID string) (*Attestation, error)
	// BatchAttestations lists a batch's attestations in row order,
	// without their PDFs.
	BatchAttestations(ctx context.Context, batchID string) ([]Attestation, error)
	AttestationPDF(ctx context.Context, id string) ([]byte, error)

	CreateBatch(ctx context.Context, b Batch) error
	Batch(ctx context.Context, id string) (*Batch, error)
	// ClaimBatch takes the oldest queued batch, or a running one whose
	// lease ran out, and leases it until `until`.
	ClaimBatch(ctx context.Context, now, until time.Time) (*Batch, error)
	ExtendBatchLease(ctx context.Context, id string, until time.Time) error
	FailBatch(ctx context.Context, id, reason string) error

	// FinishMerged stores a batch's merged PDF and marks the batch done,
	// together; a second call replaces the first.
	FinishMerged(ctx context.Context, batchID, sha string, pdf []byte, at time.Time) error
	MergedPDF(ctx context.Context, batchID string) ([]byte, error)
	BatchByMergedSHA256(ctx context.Context, sha string) (*Batch, error)

	// LearnerAttestations lists the attestations issued to any of emails
	// (normalized), newest first, without their PDFs.
	LearnerAttestations(ctx context.Context, emails []string, limit int) ([]Attestation, error)
	// Batches lists an issuer's batches, newest first.
	Batches(ctx context.Context, issuer string, limit int) ([]Batch, error)
}
