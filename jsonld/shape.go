package jsonld

// Shapes: canonicalizing many documents that differ only in a few strings.
//
// A bulk award signs thousands of credentials that are the same document
// but for their id, the recipient's hashed identity, the status entry and
// perhaps some evidence. A Shape runs the expensive steps (input check,
// expansion, node map, RDF conversion, dataset check) once, on a template in
// which each varying string is replaced by a placeholder ("hole"); each
// document then costs a structural comparison with the template, the
// filling of the holes in a copy of the template's statements, and the
// normalization (URDNA2015), which depends on the values and always runs.
//
// Why the result is the reference path's. A document that matches the
// template everywhere but at the holes expands to the same statements with
// the hole's string in place of the placeholder, provided the string is
// turned into an RDF term the way the placeholder was:
//   - a literal is the string itself (JSON-LD never rewrites a string
//     value; datatype and language come from the context, as for the
//     placeholder). checkInput's control-character rule applies to it.
//   - an IRI (an @id, or a value coerced to @id) is the string itself when
//     JSON-LD's IRI expansion returns it unchanged: it has a scheme, and
//     either what follows the colon starts with "//" (rule 4.2 of IRI
//     expansion), or its scheme is the placeholder's own (the placeholder
//     came out unchanged, so that scheme is not a prefix term there). A
//     keyword-like, blank-node or relative string is refused. The
//     statement-dropping rule (ld.IsURL for http(s) IRIs) and checkDataset's
//     absolute-IRI rule are applied to it.
// Anything else (a placeholder inside a longer string, in a predicate, a
// datatype, a graph name or an @json literal; a hole that vanished) makes
// NewShape fail, and Canonicalize answers ok=false whenever a document
// does not match or a value is refused: the caller then canonicalizes the
// document in full. The differential tests in shape_test.go compare both.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// Shape is a template document compiled to its RDF statements, with holes.
type Shape struct {
	c      *Canonicalizer
	marker string // in every placeholder, and nowhere else
	tpl    map[string]any
	holes  []hole
	byName map[string]int // placeholder → hole
	quads  []*ld.Quad     // the template's default graph
	uses   []use
}

type hole struct {
	placeholder string
	scheme      string // of the placeholder (and of the template's value)
}

// use is one place of a hole in the statements.
type use struct {
	quad   int
	object bool // else the subject
	iri    bool
	hole   int
	lit    ld.Literal // the placeholder's literal, for its datatype and language
}

// ErrShape is returned when a template cannot be compiled.
var ErrShape = errors.New("jsonld: template cannot be compiled to a shape")

// NewShape compiles doc into a Shape whose holes are the strings at paths
// (each a list of object keys and array indexes from the top of doc).
// doc is not modified.
func (c *Canonicalizer) NewShape(doc map[string]any, paths [][]any) (*Shape, error) {
	var nonce [8]byte
	rand.Read(nonce[:])
	s := &Shape{c: c, marker: "x-hole-" + hex.EncodeToString(nonce[:]), byName: map[string]int{}}
	tpl := doc
	for i, p := range paths {
		var err error
		if tpl, err = s.punch(tpl, p, i); err != nil {
			return nil, err
		}
	}
	s.tpl = tpl
	// The template goes through the fast path as any document does, so
	// that the statements are those the reference path would produce.
	ctxVal, hasCtx := tpl["@context"]
	key, ok := c.contextKey(ctxVal)
	if !hasCtx || !ok {
		return nil, fmt.Errorf("%w: its @context is not a list of embedded contexts", ErrShape)
	}
	if err := c.checkInput(tpl); err != nil {
		return nil, err
	}
	cc, err := c.activeContext(key, ctxVal)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrShape, err)
	}
	ds, err := c.toRDFCached(cc, tpl)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnsafe, describe(err))
	}
	if err := c.checkDataset(ds); err != nil {
		return nil, err
	}
	if len(ds.Graphs) != 1 || ds.Graphs["@default"] == nil {
		return nil, fmt.Errorf("%w: named graphs", ErrShape)
	}
	s.quads = ds.Graphs["@default"]
	seen := make([]bool, len(s.holes))
	for qi, q := range s.quads {
		if strings.Contains(q.Predicate.GetValue(), s.marker) || (q.Graph != nil && strings.Contains(q.Graph.GetValue(), s.marker)) {
			return nil, fmt.Errorf("%w: a hole is a predicate or a graph", ErrShape)
		}
		for _, object := range []bool{false, true} {
			n := q.Subject
			if object {
				n = q.Object
			}
			u := use{quad: qi, object: object, hole: -1}
			switch t := n.(type) {
			case ld.IRI:
				u.iri, u.hole = true, s.index(t.Value)
			case ld.Literal:
				if strings.Contains(t.Datatype, s.marker) || strings.Contains(t.Language, s.marker) || t.Datatype == ld.RDFJSONLiteral {
					if strings.Contains(t.Value, s.marker) {
						return nil, fmt.Errorf("%w: a hole in a datatype, a language or an @json literal", ErrShape)
					}
				}
				u.lit, u.hole = t, s.index(t.Value)
			}
			if u.hole >= 0 {
				s.uses = append(s.uses, u)
				seen[u.hole] = true
			} else if strings.Contains(n.GetValue(), s.marker) {
				return nil, fmt.Errorf("%w: a hole inside a longer string", ErrShape)
			}
		}
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%w: hole %d (%v) is in no statement", ErrShape, i, paths[i])
		}
	}
	return s, nil
}

// punch returns a copy of v, copied along path only, with the string at
// path replaced by hole i's placeholder.
func (s *Shape) punch(v map[string]any, path []any, i int) (map[string]any, error) {
	var walk func(v any, rest []any) (any, error)
	walk = func(v any, rest []any) (any, error) {
		if len(rest) == 0 {
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%w: hole %d is not a string", ErrShape, i)
			}
			// The placeholder has the sample's scheme, and passes for a
			// URL where the sample is one, so that it becomes the same
			// kind of term.
			scheme := "urn"
			if j := strings.IndexByte(str, ':'); j > 0 && isAbsoluteIRI(str) {
				scheme = str[:j]
			}
			h := hole{placeholder: scheme + ":" + s.marker + "-" + strconv.Itoa(i), scheme: scheme}
			if scheme == "http" || scheme == "https" {
				// Rule 4.2 kept it whole, which proves nothing of the
				// scheme: values must then have "//" too.
				h.placeholder, h.scheme = scheme+"://"+s.marker+".example/"+strconv.Itoa(i), ""
			}
			s.byName[h.placeholder] = len(s.holes)
			s.holes = append(s.holes, h)
			return h.placeholder, nil
		}
		switch k := rest[0].(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: hole %d: no object at %q", ErrShape, i, k)
			}
			child, ok := m[k]
			if !ok {
				return nil, fmt.Errorf("%w: hole %d: no member %q", ErrShape, i, k)
			}
			nv, err := walk(child, rest[1:])
			if err != nil {
				return nil, err
			}
			out := make(map[string]any, len(m))
			for kk, vv := range m {
				out[kk] = vv
			}
			out[k] = nv
			return out, nil
		case int:
			a, ok := v.([]any)
			if !ok || k < 0 || k >= len(a) {
				return nil, fmt.Errorf("%w: hole %d: no element %d", ErrShape, i, k)
			}
			nv, err := walk(a[k], rest[1:])
			if err != nil {
				return nil, err
			}
			out := append([]any(nil), a...)
			out[k] = nv
			return out, nil
		}
		return nil, fmt.Errorf("%w: hole %d: a path step is a %T", ErrShape, i, rest[0])
	}
	out, err := walk(v, path)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

// index returns the hole whose placeholder s is, or -1.
func (s *Shape) index(v string) int {
	if i, ok := s.byName[v]; ok {
		return i
	}
	return -1
}

// Canonicalize returns doc's canonical N-Quads, as Canonicalizer.Canonicalize
// would, when doc is the template but for the strings at the holes;
// ok=false otherwise (the caller canonicalizes doc in full).
func (s *Shape) Canonicalize(doc map[string]any) (out string, ok bool) {
	vals := make([]string, len(s.holes))
	set := make([]bool, len(s.holes))
	if !s.match(s.tpl, doc, vals, set) {
		return "", false
	}
	for _, v := range vals {
		if checkString(v, "") != nil {
			return "", false
		}
	}
	quads := make([]*ld.Quad, len(s.quads))
	backing := make([]ld.Quad, len(s.quads))
	for i, q := range s.quads {
		backing[i] = *q
		quads[i] = &backing[i]
	}
	for _, u := range s.uses {
		v := vals[u.hole]
		var n ld.Node
		if u.iri {
			if !s.iriUnchanged(v, s.holes[u.hole].scheme) {
				return "", false
			}
			n = ld.NewIRI(v)
		} else {
			l := u.lit
			l.Value = v
			n = l
		}
		if u.object {
			quads[u.quad].Object = n
		} else {
			quads[u.quad].Subject = n
		}
	}
	if !distinct(quads) {
		// Equal values merged nodes or statements in the reference path.
		return "", false
	}
	defer func() {
		if r := recover(); r != nil {
			out, ok = "", false
		}
	}()
	ds := ld.NewRDFDataset()
	ds.Graphs["@default"] = quads
	return normalize(ds), true
}

// iriUnchanged reports whether JSON-LD turns v, where the placeholder of a
// hole with this scheme stood, into the IRI v, kept in the dataset.
func (s *Shape) iriUnchanged(v, scheme string) bool {
	j := strings.IndexByte(v, ':')
	if j <= 0 || !isAbsoluteIRI(v) || strings.HasPrefix(v, "_:") {
		return false
	}
	if !strings.HasPrefix(v[j+1:], "//") && v[:j] != scheme {
		return false
	}
	return s.c.fast.validIRI(v)
}

// match compares doc with the template, collecting the holes' strings.
func (s *Shape) match(tpl, doc any, vals []string, set []bool) bool {
	switch t := tpl.(type) {
	case string:
		d, ok := doc.(string)
		if !ok {
			return false
		}
		if i := s.index(t); i >= 0 {
			if set[i] && vals[i] != d {
				return false
			}
			vals[i], set[i] = d, true
			return true
		}
		return d == t
	case map[string]any:
		d, ok := doc.(map[string]any)
		if !ok || len(d) != len(t) {
			return false
		}
		for k, tv := range t {
			dv, ok := d[k]
			if !ok || !s.match(tv, dv, vals, set) {
				return false
			}
		}
		return true
	case []any:
		d, ok := doc.([]any)
		if !ok || len(d) != len(t) {
			return false
		}
		for i := range t {
			if !s.match(t[i], d[i], vals, set) {
				return false
			}
		}
		return true
	case float64:
		d, ok := doc.(float64)
		return ok && d == t
	case bool:
		d, ok := doc.(bool)
		return ok && d == t
	case nil:
		return doc == nil
	}
	return false
}

// distinct reports whether no two statements are equal.
func distinct(quads []*ld.Quad) bool {
	type key struct {
		s, p, o, dt, lang string
		sb, ob, ol        bool
	}
	seen := make(map[key]struct{}, len(quads))
	for _, q := range quads {
		k := key{s: q.Subject.GetValue(), p: q.Predicate.GetValue(), o: q.Object.GetValue()}
		_, k.sb = q.Subject.(ld.BlankNode)
		_, k.ob = q.Object.(ld.BlankNode)
		if l, ok := q.Object.(ld.Literal); ok {
			k.ol, k.dt, k.lang = true, l.Datatype, l.Language
		}
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
	}
	return true
}
