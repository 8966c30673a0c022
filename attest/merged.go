package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/go-pdf/fpdf"

	"github.com/insigne/insigne/issuing"
)

// mergedAttachment names the credential of a batch's row in the merged
// PDF as the ZIP names its PDF: row, participant and code, so that each
// file maps to its page.
func mergedAttachment(a Attestation) string {
	return fmt.Sprintf("%04d-%s-%s.json", a.BatchRow, fileSafe(a.LearnerName), a.Code)
}

// merge makes the merged PDF of a batch whose attestations are all
// stored, stores it with its SHA-256 and marks the batch done. The pages
// are drawn again from the records and the signed credentials rather
// than copied from the stored PDFs: the same drawing, without a PDF
// parser. Until it is stored the batch reads running, done = total.
func (s *Service) merge(ctx context.Context, b *Batch, sess Session) error {
	as, err := s.store.BatchAttestations(ctx, b.ID)
	if err != nil {
		return err
	}
	signed := make(map[string][]byte, len(as))
	for offset := 0; ; offset += 500 {
		page, _, err := s.iss.Credentials(ctx, issuing.CredentialQuery{AchievementID: b.Achievement, Limit: 500, Offset: offset})
		if err != nil {
			return fmt.Errorf("merged PDF of batch %s: %w", b.ID, err)
		}
		for _, c := range page {
			signed[c.ID] = c.Signed
		}
		if len(page) < 500 {
			break
		}
	}
	rs := make([]rendering, len(as))
	names := make([]string, len(as))
	for i, a := range as {
		cred, ok := signed[a.CredentialID]
		if !ok {
			return fmt.Errorf("merged PDF of batch %s: credential %s of row %d: %w", b.ID, a.CredentialID, a.BatchRow, ErrNotFound)
		}
		fl := a.Fields
		fl.Training.Signatory.Image = sess.Signatory.Image
		rs[i] = rendering{Fields: fl, Code: a.Code, VerifyURL: s.VerifyURL(a.Code), Credential: cred}
		names[i] = mergedAttachment(a)
	}
	pdf, err := renderMerged(ctx, sess, rs, names, func() error { return s.store.ExtendBatchLease(ctx, b.ID, s.now().Add(s.lease)) })
	if err != nil {
		return fmt.Errorf("merged PDF of batch %s: %w", b.ID, err)
	}
	sum := sha256.Sum256(pdf)
	if err := s.store.FinishMerged(ctx, b.ID, hex.EncodeToString(sum[:]), pdf, s.now()); err != nil {
		return fmt.Errorf("merged PDF of batch %s: %w", b.ID, err)
	}
	return nil
}

// renderMerged draws every attestation of a session in one document, each
// on its own page(s), its credential attached under its name; every
// attestation is a bookmark. alive is called now and then so that a long
// merge keeps its lease.
func renderMerged(ctx context.Context, sess Session, rs []rendering, names []string, alive func() error) ([]byte, error) {
	var all []string
	for _, r := range rs {
		all = append(all, r.strings()...)
	}
	core := winAnsi(all...)
	f := newDocIn(core)
	f.SetCatalogSort(true)
	p := pen{f: f, core: core}
	issuer := ""
	if len(rs) > 0 {
		issuer = rs[0].Fields.IssuerName
		f.SetCreationDate(rs[0].Fields.IssuedAt)
		f.SetModificationDate(rs[len(rs)-1].Fields.IssuedAt)
	}
	f.SetTitle(fmt.Sprintf("Attestations de formation – %s – %d participants", sess.Title, len(rs)), true)
	f.SetSubject("Attestations de formation", true)
	f.SetAuthor(issuer, true)
	f.SetKeywords("attestations formation Open Badges "+sess.Reference, true)
	atts := make([]fpdf.Attachment, len(rs))
	for i, r := range rs {
		if i%500 == 499 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := alive(); err != nil {
				return nil, err
			}
		}
		first := f.PageNo() + 1
		if err := draw(p, r, names[i], r.Fields.Learner.Name); err != nil {
			return nil, err
		}
		pages := fmt.Sprintf("page %d", first)
		if last := f.PageNo(); last > first {
			pages = fmt.Sprintf("pages %d–%d", first, last)
		}
		atts[i] = fpdf.Attachment{Content: r.Credential, Filename: names[i],
			Description: "Attestation signée (Open Badges 3.0) de " + r.Fields.Learner.Name + ", " + pages}
	}
	f.SetAttachments(atts)
	return output(f)
}
