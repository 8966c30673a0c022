// Package jsonld canonicalizes JSON-LD documents (RDFC-1.0, as used by the
// eddsa-rdfc-2022 cryptosuite) with contexts embedded in the binary.
//
// Nothing here ever fetches a context from the network: the set of contexts is
// pinned, which is both what makes signatures reproducible and a security
// control (a remote context could change the meaning of signed bytes).
package jsonld

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"

	"github.com/piprate/json-gold/ld"
)

//go:embed contexts/url-map.json contexts/1edtech contexts/validator-bundled contexts/w3c
var contextFiles embed.FS

// Loader is a read-only, offline ld.DocumentLoader over the embedded
// contexts. It is safe for concurrent use: every document is parsed once at
// construction and never written afterwards.
type Loader struct {
	docs map[string]*ld.RemoteDocument
	raw  map[string][]byte
}

// NewLoader parses every embedded context.
func NewLoader() (*Loader, error) {
	mapping, err := contextFiles.ReadFile("contexts/url-map.json")
	if err != nil {
		return nil, fmt.Errorf("jsonld: reading context map: %w", err)
	}
	var urls map[string]string
	if err := json.Unmarshal(mapping, &urls); err != nil {
		return nil, fmt.Errorf("jsonld: parsing context map: %w", err)
	}
	l := &Loader{docs: make(map[string]*ld.RemoteDocument, len(urls)), raw: make(map[string][]byte, len(urls))}
	for u, file := range urls {
		b, err := contextFiles.ReadFile(path.Join("contexts", file))
		if err != nil {
			return nil, fmt.Errorf("jsonld: reading context %s: %w", u, err)
		}
		doc, err := ld.DocumentFromReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("jsonld: parsing context %s: %w", u, err)
		}
		l.docs[u] = &ld.RemoteDocument{DocumentURL: u, Document: doc}
		l.raw[u] = b
	}
	return l, nil
}

// LoadDocument implements ld.DocumentLoader. Unknown URLs are refused.
func (l *Loader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	if d, ok := l.docs[u]; ok {
		// json-gold does not modify the loaded document, but hand out a
		// fresh RemoteDocument so callers cannot swap our pointer.
		return &ld.RemoteDocument{DocumentURL: d.DocumentURL, Document: d.Document}, nil
	}
	return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, fmt.Sprintf("context %q is not one of the contexts Insigne knows (offline loader)", u))
}

// Known reports whether the URL is one of the embedded contexts.
func (l *Loader) Known(u string) bool { _, ok := l.docs[u]; return ok }

// Raw returns the bytes of an embedded context, for serving it.
func (l *Loader) Raw(u string) ([]byte, bool) { b, ok := l.raw[u]; return b, ok }

// URLs lists the embedded context URLs, sorted.
func (l *Loader) URLs() []string {
	out := make([]string, 0, len(l.docs))
	for u := range l.docs {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}
