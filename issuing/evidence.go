package issuing

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// MaxEvidenceSize caps one uploaded evidence file.
const MaxEvidenceSize = 20 << 20

// evidenceTypes are the file types accepted as evidence, by sniffed media
// type. Anything else (HTML, scripts, executables) is refused: evidence is
// served back to browsers.
var evidenceTypes = map[string]bool{
	"application/pdf": true, "image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"image/svg+xml": true, "text/plain": true, "application/zip": true, "video/mp4": true, "audio/mpeg": true,
}

// PutEvidence stores an uploaded file whose media type the caller sniffed
// from its first bytes, and returns its record (the URL is EvidenceURL).
func (s *Service) PutEvidence(ctx context.Context, actor, name, mediaType string, r io.Reader) (*Blob, error) {
	mt := strings.TrimSpace(strings.SplitN(mediaType, ";", 2)[0])
	if !evidenceTypes[mt] {
		return nil, inputErr("file", "files of type %s are not accepted as evidence", mt)
	}
	if len(name) > 200 {
		name = name[:200]
	}
	sha, size, err := s.blobs.Put(ctx, r, MaxEvidenceSize)
	if err != nil {
		return nil, err
	}
	b := Blob{SHA256: sha, MediaType: mt, Size: size, Name: name, CreatedAt: s.now()}
	if err := s.store.PutBlob(ctx, b); err != nil {
		return nil, err
	}
	s.store.Audit(ctx, AuditEntry{At: s.now(), Actor: actor, Action: "evidence.upload", Target: sha, Detail: fmt.Sprintf("%s %d bytes", mt, size)})
	return &b, nil
}

// Evidence opens an evidence file.
func (s *Service) Evidence(ctx context.Context, sha string) (*Blob, io.ReadCloser, error) {
	b, err := s.store.Blob(ctx, sha)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.blobs.Open(ctx, sha)
	if err != nil {
		return nil, nil, err
	}
	return b, r, nil
}

// AuditLog returns the latest audit entries about an issuer.
func (s *Service) AuditLog(ctx context.Context, slug string, limit int) ([]AuditEntry, error) {
	return s.store.AuditLog(ctx, slug, limit)
}
