package attest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/issuing"
)

// Verdicts for HR.
const (
	VerdictValid    = "valid"    // the attestation as issued, in force
	VerdictRevoked  = "revoked"  // withdrawn (or suspended) by its issuer
	VerdictExpired  = "expired"  // past its validUntil
	VerdictModified = "modified" // the file is not the one issued; the credential inside is ours
	VerdictUnknown  = "unknown"  // nothing this service issued
	VerdictInvalid  = "invalid"  // a credential that fails verification
)

// Outcome is the answer to one verification: a verdict, a sentence in
// French for the person checking, and, when the attestation is ours, the
// authentic data to compare with the document in hand.
type Outcome struct {
	Verdict string `json:"verdict"`
	Message string `json:"message"`
	Name    string `json:"file,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	// Modified is set when the file differs from the one issued, whatever
	// the verdict (a modified copy of a revoked attestation is revoked).
	Modified  bool           `json:"modified,omitempty"`
	Authentic *Authentic     `json:"authentic,omitempty"`
	Report    *badges.Report `json:"report,omitempty"`
	// Batch and Attestations answer for a merged PDF: the batch it was
	// delivered for (when the file is the one delivered) and the outcome
	// of every credential attached to it, in page order.
	Batch        string    `json:"batch,omitempty"`
	Attestations []Outcome `json:"attestations,omitempty"`
}

// Authentic is what was issued, from the record kept at issue time and
// the signed credential.
type Authentic struct {
	ID           string `json:"id"`
	Code         string `json:"code"`
	CredentialID string `json:"credential"`
	Fields
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

var messages = map[string]string{
	VerdictValid:    "Attestation authentique : ce fichier est celui qui a été délivré, et elle n'a pas été retirée.",
	VerdictRevoked:  "Attestation retirée par l'organisme qui l'a délivrée : elle n'est plus valable.",
	VerdictExpired:  "Attestation authentique mais expirée.",
	VerdictModified: "Document modifié : ce fichier n'est pas celui qui a été délivré. Les informations authentiques sont affichées ci-dessous : comparez-les au document.",
	VerdictUnknown:  "Document inconnu : il ne correspond à aucune attestation délivrée par ce service.",
	VerdictInvalid:  "Attestation non valable : la vérification de sa signature ou de son contenu a échoué.",
}

// Message returns the French sentence for a verdict.
func Message(verdict string) string { return messages[verdict] }

func (s *Service) authentic(ctx context.Context, a *Attestation) (*Authentic, *issuing.Credential, error) {
	c, err := s.iss.Credential(ctx, a.CredentialID)
	if err != nil {
		return nil, nil, err
	}
	return &Authentic{ID: a.ID, Code: a.Code, CredentialID: "urn:uuid:" + a.CredentialID, Fields: a.Fields, State: c.State, Reason: c.Reason}, c, nil
}

// judge sets the verdict of an attestation of ours from its credential's
// state and the verification report.
func judge(o *Outcome, c *issuing.Credential, r *badges.Report) {
	o.Verdict = VerdictValid
	var failed badges.Check
	bad := false
	if r != nil {
		failed, bad = r.Failed()
	}
	switch {
	case c.State != issuing.StateActive || (r != nil && r.Status != ""):
		o.Verdict = VerdictRevoked
	case bad && failed.Name == "valid-until":
		o.Verdict = VerdictExpired
	case o.Modified:
		o.Verdict = VerdictModified
	case bad:
		o.Verdict = VerdictInvalid
	}
	o.Message = messages[o.Verdict]
	if o.Verdict == VerdictRevoked && c.State == issuing.StateSuspended {
		o.Message = "Attestation suspendue par l'organisme qui l'a délivrée : elle n'est pas valable en l'état."
	}
	if o.Modified && o.Verdict != VerdictModified {
		o.Message += " De plus, ce fichier n'est pas celui qui a été délivré."
	}
	if o.Modified && bad && failed.Name != "valid-until" {
		o.Message += " L'attestation numérique jointe a elle aussi été altérée (" + failed.Name + ")."
	}
}

// VerifyFile verifies an uploaded file: an attestation PDF, a baked badge
// image or a credential in JSON or JWS. name is only echoed back.
func (s *Service) VerifyFile(ctx context.Context, name string, input []byte) (*Outcome, error) {
	sum := sha256.Sum256(input)
	o := &Outcome{Name: name, SHA256: hex.EncodeToString(sum[:])}
	isPDF := bytes.HasPrefix(input, []byte("%PDF-"))
	if isPDF && len(input) > MaxPDFSize {
		o.Verdict, o.Message = VerdictUnknown, "Fichier trop volumineux pour être une attestation (plus de 16 Mio)."
		return o, nil
	}
	var rec *Attestation
	if isPDF {
		a, err := s.store.AttestationBySHA256(ctx, o.SHA256)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		rec = a
	}
	if isPDF && rec == nil {
		b, err := s.store.BatchByMergedSHA256(ctx, o.SHA256)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if b != nil {
			o.Batch = b.ID
			return s.verifyMerged(ctx, o, input)
		}
		if creds, err := ExtractCredentials(input); err == nil && len(creds) > 1 {
			return s.verifyMerged(ctx, o, input)
		}
	}
	report, err := s.verifier.Verify(ctx, input, badges.Options{At: s.now()})
	if errors.Is(err, badges.ErrUnusableInput) {
		report = nil
	} else if err != nil {
		return nil, err
	}
	if report != nil && report.Credential != nil {
		o.Report = report
	}
	if rec == nil && o.Report != nil && report.Summary != nil {
		id := strings.TrimPrefix(report.Summary.ID, "urn:uuid:")
		if issuing.IsUUID(id) {
			a, err := s.store.AttestationByCredential(ctx, id)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			if a != nil {
				rec = a
				o.Modified = isPDF
			}
		}
	}
	if rec == nil {
		if o.Report != nil && !isPDF {
			// A credential that is not an attestation: the verifier's word.
			o.Verdict = VerdictInvalid
			if o.Report.Verdict != badges.Invalid {
				o.Verdict = VerdictValid
			}
			if o.Report.Status != "" {
				o.Verdict = VerdictRevoked
			}
			if f, bad := o.Report.Failed(); bad && f.Name == "valid-until" {
				o.Verdict = VerdictExpired
			}
			o.Message = map[string]string{VerdictValid: "Badge ou attestation numérique valide.",
				VerdictRevoked: messages[VerdictRevoked], VerdictExpired: "Badge ou attestation numérique expiré.",
				VerdictInvalid: messages[VerdictInvalid]}[o.Verdict]
			return o, nil
		}
		o.Verdict, o.Message = VerdictUnknown, messages[VerdictUnknown]
		return o, nil
	}
	auth, c, err := s.authentic(ctx, rec)
	if err != nil {
		return nil, err
	}
	o.Authentic = auth
	judge(o, c, o.Report)
	return o, nil
}

// VerifyCode verifies an attestation by its printed code (or the last
// segment of its QR link).
func (s *Service) VerifyCode(ctx context.Context, code string) (*Outcome, error) {
	norm := NormalizeCode(code)
	o := &Outcome{}
	if norm == "" {
		o.Verdict, o.Message = VerdictUnknown, "Ce code n'a pas la forme d'un code de vérification (10 caractères, sans 0, O, 1, I ni L)."
		return o, nil
	}
	a, err := s.store.AttestationByCode(ctx, norm)
	if errors.Is(err, ErrNotFound) {
		o.Verdict, o.Message = VerdictUnknown, "Aucune attestation ne porte ce code."
		return o, nil
	}
	if err != nil {
		return nil, err
	}
	auth, c, err := s.authentic(ctx, a)
	if err != nil {
		return nil, err
	}
	o.Authentic = auth
	report, err := s.verifier.Verify(ctx, c.Signed, badges.Options{At: s.now()})
	if err != nil && !errors.Is(err, badges.ErrUnusableInput) {
		return nil, err
	}
	o.Report = report
	judge(o, c, report)
	return o, nil
}

// severity orders verdicts, the most serious first: a merged PDF reads as
// its most serious attestation.
var severity = []string{VerdictInvalid, VerdictRevoked, VerdictExpired, VerdictUnknown, VerdictModified, VerdictValid}

var plural = map[string]string{VerdictValid: "valide(s)", VerdictRevoked: "retirée(s) ou suspendue(s)", VerdictExpired: "expirée(s)",
	VerdictModified: "authentique(s) dans un fichier modifié", VerdictUnknown: "inconnue(s)", VerdictInvalid: "non valable(s)"}

// maxModifiedChecked caps the credentials verified in a PDF with several
// that is not a merged PDF as delivered.
const maxModifiedChecked = 100

// verifyMerged answers for a PDF with several credentials attached: a
// merged PDF of a batch. Each credential is verified and judged as the
// attestation it stands for; the file itself is intact when its SHA-256
// is that of a merged PDF delivered (o.Batch set), otherwise every
// attestation in it reads modified, as for a single PDF.
func (s *Service) verifyMerged(ctx context.Context, o *Outcome, input []byte) (*Outcome, error) {
	creds, err := ExtractCredentials(input)
	if err != nil {
		return nil, err
	}
	o.Modified = o.Batch == ""
	limit := len(creds)
	if o.Modified {
		// A file we did not deliver as it is: verifying costs a signature
		// check each, so a stranger's file is checked only so far.
		limit = min(limit, maxModifiedChecked)
	}
	count := map[string]int{}
	for _, cred := range creds[:limit] {
		item, err := s.verifyAttached(ctx, cred, o.Modified)
		if err != nil {
			return nil, err
		}
		count[item.Verdict]++
		o.Attestations = append(o.Attestations, *item)
	}
	o.Verdict = VerdictValid
	var parts []string
	for _, v := range severity {
		if count[v] == 0 {
			continue
		}
		if o.Verdict == VerdictValid {
			o.Verdict = v
		}
		parts = append(parts, fmt.Sprintf("%d %s", count[v], plural[v]))
	}
	file := "ce fichier est celui qui a été délivré"
	if o.Modified {
		file = "ce fichier n'est pas celui qui a été délivré"
	}
	o.Message = fmt.Sprintf("Recueil de %d attestations : %s. %s.", len(creds), file, strings.Join(parts, ", "))
	if o.Verdict == VerdictValid {
		o.Message = fmt.Sprintf("Recueil authentique de %d attestations : ce fichier est celui qui a été délivré, et aucune n'a été retirée.", len(creds))
	}
	if limit < len(creds) || len(creds) == MaxMergedCredentials {
		o.Message += fmt.Sprintf(" Seules les %d premières ont été vérifiées.", limit)
	}
	return o, nil
}

// verifyAttached verifies one credential taken from a PDF and judges it
// as the attestation it stands for; the report is kept only to explain a
// verdict other than valid.
func (s *Service) verifyAttached(ctx context.Context, cred []byte, modified bool) (*Outcome, error) {
	item := &Outcome{Modified: modified}
	report, err := s.verifier.Verify(ctx, cred, badges.Options{At: s.now()})
	if errors.Is(err, badges.ErrUnusableInput) {
		report = nil
	} else if err != nil {
		return nil, err
	}
	var rec *Attestation
	if report != nil && report.Summary != nil {
		if id := strings.TrimPrefix(report.Summary.ID, "urn:uuid:"); issuing.IsUUID(id) {
			rec, err = s.store.AttestationByCredential(ctx, id)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
		}
	}
	if rec == nil {
		item.Verdict, item.Message, item.Modified = VerdictUnknown, messages[VerdictUnknown], false
		return item, nil
	}
	auth, c, err := s.authentic(ctx, rec)
	if err != nil {
		return nil, err
	}
	item.Authentic = auth
	judge(item, c, report)
	if item.Verdict != VerdictValid {
		item.Report = report
	}
	return item, nil
}
