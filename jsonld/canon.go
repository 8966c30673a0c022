package jsonld

import (
	"errors"
	"fmt"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// Limits cap the work spent on untrusted input. RDFC-1.0 has no bound of its
// own on blank-node work ("poison graphs"), so the caller must bound it.
type Limits struct {
	MaxDepth      int // JSON nesting depth
	MaxNodes      int // JSON values (objects, arrays, scalars) in the document
	MaxBlankNodes int // blank nodes in the resulting dataset
	MaxQuads      int
}

// DefaultLimits fit any credential Insigne issues or should accept, with
// room: a CLR with hundreds of nested credentials stays well inside.
var DefaultLimits = Limits{MaxDepth: 64, MaxNodes: 200_000, MaxBlankNodes: 4096, MaxQuads: 100_000}

// ErrUnsafe is wrapped by every error that comes from a document that is not
// safe to sign or verify: undefined terms, relative IRIs, characters that
// json-gold does not escape the way RDFC-1.0 does.
var ErrUnsafe = errors.New("jsonld: document is not safe for canonicalization")

// Canonicalizer turns a JSON-LD document into canonical N-Quads. It is safe
// for concurrent use.
type Canonicalizer struct {
	loader *Loader
	limits Limits
	fast   fastState // caches of the fast path (fast.go)
}

// NewCanonicalizer returns a canonicalizer using the embedded contexts.
func NewCanonicalizer(l *Loader, limits Limits) *Canonicalizer {
	return &Canonicalizer{loader: l, limits: limits}
}

// Loader returns the document loader in use.
func (c *Canonicalizer) Loader() *Loader { return c.loader }

func (c *Canonicalizer) options() *ld.JsonLdOptions {
	opts := ld.NewJsonLdOptions("")
	opts.Algorithm = ld.AlgorithmURDNA2015
	opts.Format = "application/n-quads"
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.DocumentLoader = c.loader
	opts.SafeMode = true
	return opts
}

// Canonicalize returns the RDFC-1.0 canonical N-Quads of doc, a value as
// decoded by encoding/json (map[string]any, []any, string, float64, bool,
// nil). doc is not modified.
//
// It works in JSON-LD safe mode: a term the contexts do not define is an
// error rather than silently dropped, as the OB 3.0 certification requires.
// json-gold's Normalize ignores SafeMode, so this runs ToRDF (which honours
// it) and then the normalization algorithm on the dataset.
func (c *Canonicalizer) Canonicalize(doc any) (string, error) {
	if out, err := c.canonicalizeFast(doc); err != errNotHandled {
		return out, err
	}
	return c.canonicalizeReference(doc)
}

// canonicalizeReference is the reference path: json-gold ToRDF in safe mode,
// the checks below, json-gold URDNA2015.
func (c *Canonicalizer) canonicalizeReference(doc any) (string, error) {
	if err := c.checkInput(doc); err != nil {
		return "", err
	}
	opts := c.options()
	opts.Format = "" // ToRDF must hand back the dataset, not N-Quads text
	ds, err := ld.NewJsonLdProcessor().ToRDF(doc, opts)
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrUnsafe, describe(err))
	}
	dataset, ok := ds.(*ld.RDFDataset)
	if !ok {
		return "", fmt.Errorf("jsonld: unexpected ToRDF result %T", ds)
	}
	if err := c.checkDataset(dataset); err != nil {
		return "", err
	}
	opts.Format = "application/n-quads"
	out, err := ld.NewJsonLdApi().Normalize(dataset, opts)
	if err != nil {
		return "", fmt.Errorf("jsonld: normalizing: %w", err)
	}
	s, ok := out.(string)
	if !ok {
		return "", fmt.Errorf("jsonld: unexpected normalize result %T", out)
	}
	return s, nil
}

// describe shortens json-gold's errors to what a person needs.
func describe(err error) string {
	var e *ld.JsonLdError
	if errors.As(err, &e) {
		if e.Details != nil {
			return fmt.Sprintf("%s: %v", e.Code, e.Details)
		}
		return string(e.Code)
	}
	return err.Error()
}

// checkInput bounds the size of the JSON tree and refuses control characters
// that json-gold would emit raw where RDFC-1.0 requires an escape sequence
// (U+0008, U+000B, U+000C, U+007F and the other C0 controls): canonical bytes
// produced for such strings would differ from any conformant implementation.
func (c *Canonicalizer) checkInput(doc any) error {
	nodes := 0
	var walk func(v any, depth int, path string) error
	walk = func(v any, depth int, path string) error {
		nodes++
		if nodes > c.limits.MaxNodes {
			return fmt.Errorf("%w: more than %d JSON values", ErrUnsafe, c.limits.MaxNodes)
		}
		if depth > c.limits.MaxDepth {
			return fmt.Errorf("%w: nested deeper than %d levels at %s", ErrUnsafe, c.limits.MaxDepth, path)
		}
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				if err := checkString(k, path+"/"+k); err != nil {
					return err
				}
				if err := walk(e, depth+1, path+"/"+k); err != nil {
					return err
				}
			}
		case []any:
			for i, e := range t {
				if err := walk(e, depth+1, fmt.Sprintf("%s/%d", path, i)); err != nil {
					return err
				}
			}
		case string:
			return checkString(t, path)
		}
		return nil
	}
	return walk(doc, 0, "")
}

func checkString(s, path string) error {
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f {
			if path == "" {
				path = "/"
			}
			return fmt.Errorf("%w: control character U+%04X at %s", ErrUnsafe, r, path)
		}
	}
	return nil
}

// checkDataset refuses relative IRIs (json-gold emits an undefined type
// value as a relative IRI even in safe mode) and bounds blank-node work.
func (c *Canonicalizer) checkDataset(ds *ld.RDFDataset) error {
	quads, blanks := 0, map[string]struct{}{}
	check := func(n ld.Node, where string) error {
		switch t := n.(type) {
		case ld.IRI:
			if !isAbsoluteIRI(t.Value) {
				return fmt.Errorf("%w: %s %q is not an absolute IRI (an undefined term?)", ErrUnsafe, where, t.Value)
			}
		case ld.BlankNode:
			blanks[t.Attribute] = struct{}{}
		case ld.Literal:
			if t.Datatype != "" && !isAbsoluteIRI(t.Datatype) {
				return fmt.Errorf("%w: datatype %q of %q is not an absolute IRI", ErrUnsafe, t.Datatype, t.Value)
			}
		}
		return nil
	}
	for name, graph := range ds.Graphs {
		if name != "@default" && !strings.HasPrefix(name, "_:") && !isAbsoluteIRI(name) {
			return fmt.Errorf("%w: graph name %q is not an absolute IRI", ErrUnsafe, name)
		}
		for _, q := range graph {
			quads++
			if quads > c.limits.MaxQuads {
				return fmt.Errorf("%w: more than %d statements", ErrUnsafe, c.limits.MaxQuads)
			}
			if err := check(q.Subject, "subject"); err != nil {
				return err
			}
			if err := check(q.Predicate, "predicate"); err != nil {
				return err
			}
			if err := check(q.Object, "object"); err != nil {
				return err
			}
		}
	}
	if len(blanks) > c.limits.MaxBlankNodes {
		return fmt.Errorf("%w: more than %d blank nodes", ErrUnsafe, c.limits.MaxBlankNodes)
	}
	return nil
}

// isAbsoluteIRI reports whether s has a scheme (RFC 3987: ALPHA *( ALPHA /
// DIGIT / "+" / "-" / "." ) ":"). Compact IRIs with an undefined prefix, such
// as the "xsd:dateTime" of the OB 3.0 context (notes §8), pass this test: they
// are part of the signed bytes of 1EdTech's own credentials.
func isAbsoluteIRI(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		b := s[j]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z':
		case j > 0 && (b >= '0' && b <= '9' || b == '+' || b == '-' || b == '.'):
		default:
			return false
		}
	}
	return true
}
