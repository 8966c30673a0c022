package jsonld

// Fast path for Canonicalize.
//
// What it covers. A document that is a JSON object whose top-level "@context"
// is one embedded context URL or an array of embedded context URLs (the shape
// of every OB 3.0 / CLR 2.0 / VCDM 2.0 credential and of eddsa-rdfc-2022 proof
// configurations). Everything else (inline context objects, unknown URLs,
// arrays at top level, …) is left to the reference path in canon.go.
//
// Where the time went in the reference path, and what this file does instead:
//
//  1. Context processing (~40 %): json-gold re-parses the top-level context
//     (hundreds of term definitions, every IRI expanded) on every call. Here
//     the top-level active context is built once per distinct context list by
//     json-gold itself (ld.Context.Parse — exactly what json-gold's expansion
//     does for the document's top-level @context, with the same options) and
//     cached in the Canonicalizer. The cache can only hold contexts made of
//     embedded URLs, so it is bounded by the (finite) set of such lists an
//     attacker could send; we also cap it (maxCachedContexts).
//     Expansion is done by fast_expand.go (a transcription of json-gold's
//     expandElement/expandObject for the shapes credentials use, with
//     type-scoped, property-scoped and embedded contexts processed once by
//     json-gold's Context.Parse and memoized per context state — see the
//     comment there). Whatever it does not support is expanded by
//     json-gold's own ld.JsonLdApi.Expand, run with the cached context on a
//     shallow copy of the document without its "@context" entry. json-gold's expansion never writes to the active
//     context it is given (Parse and RevertToPreviousContext copy), so the
//     cached *ld.Context is shared read-only between goroutines.
//     Equivalence: for the top-level element json-gold's expandElement has no
//     active property, no type-scoped or property-scoped context to revert
//     or apply, and does activeCtx = NewContext(nil, opts).Parse(@context)
//     before anything else — the cached value. Keys are then processed in
//     sorted order with "@context" skipped, so removing the entry changes
//     nothing else. The final step of processor.expand (unwrap a lone
//     @graph, arrayify) is reproduced in expandCached.
//  2. Node map: json-gold's own ld.JsonLdApi.GenerateNodeMap (same merging,
//     duplicate removal and blank-node issuing as the reference).
//  3. RDF conversion (~45 %): json-gold's GraphToRDF validates every http(s)
//     IRI with a large regular expression (ld.IsURL) and drops statements
//     whose IRIs fail it. graphQuads below is a transcription of GraphToRDF /
//     objectToRDF with the same statement-dropping rule, but the verdict of
//     ld.IsURL is remembered across calls (iriCache: pre-seeded with every IRI
//     the cached contexts define, plus a bounded cache for IRIs found in
//     documents). Graphs holding an @json literal are converted by json-gold's
//     own GraphToRDF (it needs json-gold's internal JSON canonicalizer).
//  4. The dataset goes through the same checkDataset as the reference path
//     and json-gold's URDNA2015 implementation (ld.NormalisationAlgorithm);
//     only the final concatenation of the sorted N-Quads lines is done here
//     (json-gold's Main concatenates strings quadratically). Lines are
//     serialised exactly as json-gold's toNQuad does (same escaping: only
//     \\ \" \n \r \t; other control characters were refused by checkInput).
//
// Errors: checkInput runs first, exactly as in the reference path; errors of
// json-gold's expansion and node map are the reference path's errors (same
// code, same input) and are wrapped the same way; checkDataset is shared. If
// the context list fails to process, or anything panics, the caller falls
// back to the reference path, which then produces the reference error.
//
// The differential tests in fast_test.go and FuzzFastMatchesReference check
// byte equality with the reference path.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/piprate/json-gold/ld"
)

const (
	// maxCachedContexts bounds the number of distinct top-level context lists
	// kept compiled. Each entry is a list of embedded URLs, so the set is
	// finite anyway; the cap keeps permutations/duplicates in check.
	maxCachedContexts = 64
	// maxCachedIRIs bounds the cache of IsURL verdicts for IRIs taken from
	// documents (IRIs from the embedded contexts are kept separately).
	maxCachedIRIs = 1 << 14
)

// fastState is the per-Canonicalizer cache of the fast path.
type fastState struct {
	mu       sync.RWMutex
	contexts map[string]*compiledContext // key: URLs joined by "\n"

	// IsURL verdicts: seeded holds IRIs defined by cached contexts (grows
	// only when a context is compiled); docIRIs is bounded.
	seeded   sync.Map // string -> bool
	docIRIs  sync.Map // string -> bool
	nDocIRIs atomic.Int64

	stage1 atomic.Int64 // documents expanded by json-gold (tests, metrics)
}

type compiledContext struct {
	ctx  *ld.Context
	root *ctxState // memoized scoped-context transitions (fast_expand.go)
	err  error     // context processing failed: always use the reference path
}

// errNotHandled tells Canonicalize to use the reference path.
var errNotHandled = fmt.Errorf("jsonld: outside the fast path")

// contextKey returns the cache key for a top-level @context value made only
// of embedded context URLs, or ok=false.
func (c *Canonicalizer) contextKey(v any) (key string, ok bool) {
	switch t := v.(type) {
	case string:
		return t, c.loader.Known(t)
	case []any:
		if len(t) == 0 {
			return "", false
		}
		var b strings.Builder
		for i, e := range t {
			s, isStr := e.(string)
			if !isStr || !c.loader.Known(s) {
				return "", false
			}
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(s)
		}
		return b.String(), true
	}
	return "", false
}

// activeContext returns the processed top-level context for ctxVal.
func (c *Canonicalizer) activeContext(key string, ctxVal any) (*compiledContext, error) {
	f := &c.fast
	f.mu.RLock()
	cc := f.contexts[key]
	f.mu.RUnlock()
	if cc != nil {
		return cc, cc.err
	}
	ctx, err := ld.NewContext(nil, c.options()).Parse(ctxVal)
	cc = &compiledContext{ctx: ctx, err: err}
	if err == nil {
		c.seedIRIs(ctx)
		cc.root = newRootState(ctx, c.options(), c.contextKey)
	}
	f.mu.Lock()
	if f.contexts == nil {
		f.contexts = make(map[string]*compiledContext)
	}
	if prev := f.contexts[key]; prev != nil {
		cc = prev
	} else if len(f.contexts) < maxCachedContexts {
		f.contexts[key] = cc
	}
	f.mu.Unlock()
	return cc, cc.err
}

// seedIRIs records the IsURL verdict of every IRI a context defines, and of
// those defined by its scoped contexts (one level of Parse, best effort: a
// scoped context that does not parse on its own simply seeds nothing).
func (c *Canonicalizer) seedIRIs(ctx *ld.Context) {
	seenRaw := map[uintptr]bool{}
	var seed func(ctx *ld.Context, depth int)
	seed = func(ctx *ld.Context, depth int) {
		for _, td := range ctx.TermDefinitions {
			if td == nil {
				continue
			}
			for _, s := range []string{td.ID, td.Type} {
				if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
					if _, done := c.fast.seeded.Load(s); !done {
						c.fast.seeded.Store(s, ld.IsURL(s))
					}
				}
			}
			m, isMap := td.Context.(map[string]any)
			if !td.HasContext || !isMap || depth >= 2 {
				continue
			}
			p := reflect.ValueOf(m).Pointer()
			if seenRaw[p] {
				continue
			}
			seenRaw[p] = true
			if sub, err := ctx.Parse(m); err == nil {
				seed(sub, depth+1)
			}
		}
	}
	seed(ctx, 0)
}

// validIRI is json-gold's validIRI with remembered verdicts.
func (f *fastState) validIRI(s string) bool {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return true
	}
	if v, ok := f.seeded.Load(s); ok {
		return v.(bool)
	}
	if v, ok := f.docIRIs.Load(s); ok {
		return v.(bool)
	}
	ok := f.fragmentOfValid(s)
	if !ok {
		ok = ld.IsURL(s)
	}
	if f.nDocIRIs.Load() < maxCachedIRIs {
		if _, loaded := f.docIRIs.LoadOrStore(s, ok); !loaded {
			f.nDocIRIs.Add(1)
		}
	}
	return ok
}

// fragmentOfValid reports whether s is a URL that ld.IsURL accepts
// followed by "#" and digits, as every status entry's id is (each one new,
// so the cache never helps). ld.IsURL then accepts s too: its url.Parse
// takes the digits as the fragment and leaves host and path as they were;
// its regular expression ends in an optional path, "(/|?|#)" then any
// non-space characters, which either absorbs the new fragment or is it;
// and the length limit is checked again.
func (f *fastState) fragmentOfValid(s string) bool {
	i := strings.LastIndexByte(s, '#')
	if i <= 0 || i == len(s)-1 || len(s)-i > 11 || strings.IndexByte(s[:i], '#') >= 0 || utf8.RuneCountInString(s) >= 2083 {
		return false
	}
	for _, b := range []byte(s[i+1:]) {
		if b < '0' || b > '9' {
			return false
		}
	}
	v, ok := f.docIRIs.Load(s[:i])
	if !ok {
		v, ok = f.seeded.Load(s[:i])
	}
	return ok && v.(bool)
}

// canonicalizeFast returns errNotHandled when the document is outside the
// fast path or when anything fails after the input check; the caller then
// runs the reference path.
func (c *Canonicalizer) canonicalizeFast(doc any) (out string, err error) {
	top, ok := doc.(map[string]any)
	if !ok {
		return "", errNotHandled
	}
	ctxVal, hasCtx := top["@context"]
	if !hasCtx {
		return "", errNotHandled
	}
	key, ok := c.contextKey(ctxVal)
	if !ok {
		return "", errNotHandled
	}
	if err := c.checkInput(doc); err != nil {
		return "", err // identical to the reference path's first step
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = "", errNotHandled
		}
	}()
	ctx, cerr := c.activeContext(key, ctxVal)
	if cerr != nil {
		return "", errNotHandled
	}
	ds, xerr := c.toRDFCached(ctx, top)
	if xerr != nil {
		// json-gold's own expansion or node-map error, raised by the same
		// code on the same input as in the reference path.
		return "", fmt.Errorf("%w: %s", ErrUnsafe, describe(xerr))
	}
	if err := c.checkDataset(ds); err != nil {
		return "", err // same check, same dataset as the reference path
	}
	return normalize(ds), nil
}

// toRDFCached is json-gold's JsonLdProcessor.ToRDF with the top-level
// context taken from the cache and a faster RDF conversion.
func (c *Canonicalizer) toRDFCached(cc *compiledContext, top map[string]any) (*ld.RDFDataset, error) {
	body := make(map[string]any, len(top))
	for k, v := range top {
		if k != "@context" {
			body[k] = v
		}
	}
	opts := c.options()
	opts.Format = ""
	api := ld.NewJsonLdApi()
	// Stage 2 (fast_expand.go): expansion with memoized scoped contexts;
	// anything it does not support goes to json-gold's expansion with the
	// cached top-level context (stage 1), which also reports the errors.
	expanded, err := expandFast(cc.root, "", body, nil)
	if err != nil {
		c.fast.stage1.Add(1)
		expanded, err = api.Expand(cc.ctx, "", body, opts, false, nil)
		if err != nil {
			return nil, err
		}
	}
	// final step of the expansion algorithm (processor.expand)
	var input []any
	expandedMap, isMap := expanded.(map[string]any)
	if isMap && len(expandedMap) == 0 {
		expanded = nil
	}
	if g, hasGraph := expandedMap["@graph"]; isMap && hasGraph && len(expandedMap) == 1 {
		expanded = g
	} else if expanded == nil {
		expanded = []any{}
	}
	if l, isList := expanded.([]any); isList {
		input = l
	} else {
		input = []any{expanded}
	}

	// JsonLdApi.ToRDF
	issuer := ld.NewIdentifierIssuer("_:b")
	nodeMap := map[string]any{"@default": map[string]any{}}
	if _, err := api.GenerateNodeMap(input, nodeMap, "@default", issuer, "", "", nil); err != nil {
		return nil, err
	}
	ds := ld.NewRDFDataset()
	for graphName, graphVal := range nodeMap {
		if ld.IsRelativeIri(graphName) {
			continue
		}
		graph := graphVal.(map[string]any)
		quads, ok := c.fast.graphQuads(graphName, graph, issuer)
		if !ok {
			ds.GraphToRDF(graphName, graph, issuer, false)
			continue
		}
		ds.Graphs[graphName] = quads
	}
	return ds, nil
}

var (
	nodeFirst = ld.NewIRI(ld.RDFFirst)
	nodeRest  = ld.NewIRI(ld.RDFRest)
	nodeNil   = ld.NewIRI(ld.RDFNil)
)

// graphQuads transcribes json-gold's RDFDataset.GraphToRDF (without
// generalized RDF). ok=false when the graph holds an @json literal.
func (f *fastState) graphQuads(graphName string, graph map[string]any, issuer *ld.IdentifierIssuer) (quads []*ld.Quad, ok bool) {
	var triples []*ld.Quad
	for id, nodeVal := range graph {
		if ld.IsRelativeIri(id) {
			continue
		}
		node := nodeVal.(map[string]any)
		var subject ld.Node
		if strings.HasPrefix(id, "_:") {
			subject = ld.NewBlankNode(id)
		} else {
			subject = ld.NewIRI(id)
		}
		for property, pv := range node {
			var values []any
			switch {
			case property == "@type":
				values = pv.([]any)
				property = ld.RDFType
			case ld.IsKeyword(property):
				continue
			case strings.HasPrefix(property, "_:"):
				continue
			case ld.IsRelativeIri(property):
				continue
			default:
				values = pv.([]any)
			}
			predicate := ld.NewIRI(property)
			for _, item := range values {
				var object ld.Node
				object, triples, ok = objectToRDF(item, issuer, graphName, triples)
				if !ok {
					return nil, false
				}
				if object != nil {
					triples = append(triples, ld.NewQuad(subject, predicate, object, graphName))
				}
			}
		}
	}
	out := triples[:0]
	for _, q := range triples {
		if f.validNode(q.Subject) && f.validNode(q.Predicate) && f.validNode(q.Object) && f.validNode(q.Graph) {
			out = append(out, q)
		}
	}
	if out == nil {
		out = []*ld.Quad{}
	}
	return out, true
}

func (f *fastState) validNode(n ld.Node) bool {
	switch v := n.(type) {
	case ld.IRI:
		return f.validIRI(v.Value)
	case ld.Literal:
		if v.Language != "" && !validLanguage(v.Language) {
			return false
		}
		if v.Datatype != "" && !f.validIRI(v.Datatype) {
			return false
		}
	}
	return true
}

// validLanguage matches json-gold's ^[a-zA-Z]+(-[a-zA-Z0-9]+)*$.
func validLanguage(s string) bool {
	i := 0
	for i < len(s) && isAlpha(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) {
		if s[i] != '-' {
			return false
		}
		i++
		j := i
		for i < len(s) && (isAlpha(s[i]) || s[i] >= '0' && s[i] <= '9') {
			i++
		}
		if i == j {
			return false
		}
	}
	return true
}

func isAlpha(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// objectToRDF transcribes json-gold's objectToRDF; ok=false for @json.
func objectToRDF(item any, issuer *ld.IdentifierIssuer, graphName string, triples []*ld.Quad) (ld.Node, []*ld.Quad, bool) {
	if ld.IsValue(item) {
		itemMap := item.(map[string]any)
		value := itemMap["@value"]
		datatype := itemMap["@type"]
		if datatype == "@json" {
			return nil, triples, false
		}
		booleanVal, isBool := value.(bool)
		floatVal, isFloat := value.(float64)
		if !isBool && !isFloat {
			if number, isNumber := value.(json.Number); isNumber {
				var floatErr error
				floatVal, floatErr = number.Float64()
				isFloat = floatErr == nil
			}
		}
		isInteger := isFloat && floatVal == float64(int64(floatVal))
		datatypeStr, _ := datatype.(string)
		switch {
		case isBool:
			if datatype == nil {
				return ld.NewLiteral(strconv.FormatBool(booleanVal), ld.XSDBoolean, ""), triples, true
			}
			return ld.NewLiteral(strconv.FormatBool(booleanVal), datatypeStr, ""), triples, true
		case isFloat && (!isInteger || datatypeStr == ld.XSDDouble):
			d := ld.GetCanonicalDouble(floatVal)
			if datatype == nil {
				return ld.NewLiteral(d, ld.XSDDouble, ""), triples, true
			}
			return ld.NewLiteral(d, datatypeStr, ""), triples, true
		case isFloat:
			s := strconv.FormatInt(int64(floatVal), 10)
			if datatype == nil {
				return ld.NewLiteral(s, ld.XSDInteger, ""), triples, true
			}
			return ld.NewLiteral(s, datatype.(string), ""), triples, true
		}
		if langVal, hasLang := itemMap["@language"]; hasLang {
			if datatype == nil {
				return ld.NewLiteral(value.(string), ld.RDFLangString, langVal.(string)), triples, true
			}
			return ld.NewLiteral(value.(string), datatype.(string), langVal.(string)), triples, true
		}
		if datatype == nil {
			return ld.NewLiteral(value.(string), ld.XSDString, ""), triples, true
		}
		if datatype == ld.RDFJSONLiteral {
			return nil, triples, false
		}
		return ld.NewLiteral(value.(string), datatype.(string), ""), triples, true
	}
	if ld.IsList(item) {
		return parseList(item.(map[string]any)["@list"].([]any), issuer, graphName, triples)
	}
	var id string
	if itemMap, isMap := item.(map[string]any); isMap {
		id = itemMap["@id"].(string)
		if ld.IsRelativeIri(id) {
			return nil, triples, true
		}
	} else {
		id = item.(string)
	}
	if strings.HasPrefix(id, "_:") {
		return ld.NewBlankNode(id), triples, true
	}
	return ld.NewIRI(id), triples, true
}

func parseList(list []any, issuer *ld.IdentifierIssuer, graphName string, triples []*ld.Quad) (ld.Node, []*ld.Quad, bool) {
	var res ld.Node
	var last any
	if len(list) > 0 {
		last = list[len(list)-1]
		res = ld.NewBlankNode(issuer.GetId(""))
	} else {
		res = nodeNil
	}
	subj := res
	var obj ld.Node
	ok := true
	for i := 0; i < len(list)-1; i++ {
		obj, triples, ok = objectToRDF(list[i], issuer, graphName, triples)
		if !ok {
			return nil, triples, false
		}
		next := ld.NewBlankNode(issuer.GetId(""))
		triples = append(triples,
			ld.NewQuad(subj, nodeFirst, obj, graphName),
			ld.NewQuad(subj, nodeRest, next, graphName),
		)
		subj = next
	}
	if last != nil {
		obj, triples, ok = objectToRDF(last, issuer, graphName, triples)
		if !ok {
			return nil, triples, false
		}
		triples = append(triples,
			ld.NewQuad(subj, nodeFirst, obj, graphName),
			ld.NewQuad(subj, nodeRest, nodeNil, graphName),
		)
	}
	return res, triples, true
}

// normalize runs URDNA2015 (RDFC-1.0) and joins the sorted lines: the
// simple case in simpleNormalize, the others with json-gold's.
func normalize(ds *ld.RDFDataset) string {
	if len(ds.Graphs) == 1 {
		if out, ok := simpleNormalize(ds.Graphs["@default"]); ok {
			return out
		}
	}
	return normalizeGold(ds)
}

// simpleNormalize is RDFC-1.0 for a default graph whose blank nodes all
// have distinct first-degree hashes (credentials are such graphs: each
// blank node hangs off a different property). The algorithm's steps 1–5:
// hash each blank node's statements with itself as _:a and any other
// blank node as _:z (4.6, Hash First Degree Quads); issue canonical
// identifiers in the order of the hashes; as no hash is shared, the
// N-degree steps have nothing to do. ok=false: a shared hash, a named
// graph, or anything unexpected; the caller runs json-gold's.
func simpleNormalize(quads []*ld.Quad) (string, bool) {
	rq := make([]rquad, len(quads))
	for i, q := range quads {
		if q == nil || q.Graph != nil {
			return "", false
		}
		rq[i] = render(q)
	}
	return simpleNormalizeRendered(rq)
}

// rquad is a statement of the default graph with its terms written as in
// N-Quads, blank nodes apart (s or o then holds the label).
type rquad struct {
	s, p, o string
	sb, ob  bool
}

// render writes q's terms as json-gold's toNQuad does.
func render(q *ld.Quad) rquad {
	var r rquad
	switch t := q.Subject.(type) {
	case ld.BlankNode:
		r.s, r.sb = t.Attribute, true
	case ld.IRI:
		r.s = "<" + escapeNQ(t.Value) + ">"
	default:
		r.s = q.Subject.GetValue()
	}
	if p, isIRI := q.Predicate.(ld.IRI); isIRI {
		r.p = "<" + escapeNQ(p.Value) + ">"
	} else {
		r.p = escapeNQ(q.Predicate.GetValue())
	}
	switch o := q.Object.(type) {
	case ld.BlankNode:
		r.o, r.ob = o.Attribute, true
	case ld.IRI:
		r.o = "<" + escapeNQ(o.Value) + ">"
	case ld.Literal:
		r.o = renderLiteral(o)
	}
	return r
}

func renderLiteral(o ld.Literal) string {
	switch {
	case o.Datatype == ld.RDFLangString:
		return "\"" + escapeNQ(o.Value) + "\"@" + o.Language
	case o.Datatype != ld.XSDString:
		return "\"" + escapeNQ(o.Value) + "\"^^<" + escapeNQ(o.Datatype) + ">"
	}
	return "\"" + escapeNQ(o.Value) + "\""
}

// line writes the statement with its blank nodes named by name.
func (r *rquad) line(name func(string) string) string {
	s, o := r.s, r.o
	if r.sb {
		s = name(s)
	}
	if r.ob {
		o = name(o)
	}
	return s + " " + r.p + " " + o + " .\n"
}

func simpleNormalizeRendered(quads []rquad) (string, bool) {
	blanks := map[string][]int{} // blank node → its statements
	for i := range quads {
		q := &quads[i]
		if q.sb {
			blanks[q.s] = append(blanks[q.s], i)
		}
		// A statement from a blank node to itself is listed twice, as
		// json-gold (the reference here) does.
		if q.ob {
			blanks[q.o] = append(blanks[q.o], i)
		}
	}
	type hashed struct {
		id   string
		hash [sha256.Size]byte
	}
	list := make([]hashed, 0, len(blanks))
	var lines []string
	for id, qs := range blanks {
		lines = lines[:0]
		name := func(b string) string {
			if b == id {
				return "_:a"
			}
			return "_:z"
		}
		for _, i := range qs {
			lines = append(lines, quads[i].line(name))
		}
		sort.Strings(lines)
		h := sha256.New()
		for _, l := range lines {
			h.Write([]byte(l))
		}
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		list = append(list, hashed{id, sum})
	}
	// The algorithm orders hashes by their hexadecimal form: the same
	// order as their bytes.
	sort.Slice(list, func(i, j int) bool { return bytes.Compare(list[i].hash[:], list[j].hash[:]) < 0 })
	canon := make(map[string]string, len(list))
	for i, b := range list {
		if i > 0 && list[i-1].hash == b.hash {
			return "", false
		}
		canon[b.id] = "_:c14n" + strconv.Itoa(i)
	}
	name := func(b string) string { return canon[b] }
	out := make([]string, len(quads))
	n := 0
	for i := range quads {
		out[i] = quads[i].line(name)
		n += len(out[i])
	}
	sort.Strings(out)
	var b strings.Builder
	b.Grow(n)
	for _, l := range out {
		b.WriteString(l)
	}
	return b.String(), true
}

// normalizeGold runs json-gold's URDNA2015 and joins the sorted lines.
func normalizeGold(ds *ld.RDFDataset) string {
	na := ld.NewNormalisationAlgorithm(ld.AlgorithmURDNA2015)
	na.Normalize(ds)
	quads := na.Quads() // sorted together with the lines
	lines := make([]string, len(quads))
	n := 0
	for i, q := range quads {
		name := ""
		if q.Graph != nil {
			name = q.Graph.GetValue()
		}
		lines[i] = nquadLine(q, name)
		n += len(lines[i])
	}
	// json-gold sorts lines and quads together; sort again by line to be
	// independent of that detail (a stable order on equal lines is moot).
	sort.Strings(lines)
	var b strings.Builder
	b.Grow(n)
	for _, l := range lines {
		b.WriteString(l)
	}
	return b.String()
}

// nquadLine is json-gold's toNQuad.
func nquadLine(q *ld.Quad, graphName string) string {
	r := render(q)
	g := ""
	switch {
	case graphName == "":
	case strings.HasPrefix(graphName, "_:"):
		g = " " + graphName
	default:
		g = " <" + escapeNQ(graphName) + ">"
	}
	return r.s + " " + r.p + " " + r.o + g + " .\n"
}

var nqEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

func escapeNQ(s string) string {
	if !strings.ContainsAny(s, "\\\"\n\r\t") {
		return s
	}
	return nqEscaper.Replace(s)
}
