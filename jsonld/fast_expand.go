package jsonld

// Expansion with memoized scoped contexts (stage 2 of the fast path, see
// fast.go). It follows the logic of json-gold's expandElement /
// expandObject (api_expand.go), written anew for the shapes credentials use.
// It produces the same expanded JSON-LD as json-gold, which then goes
// through json-gold's GenerateNodeMap exactly as in the reference path.
//
// Context states: each state is an immutable json-gold *ld.Context plus the
// context a type-scoped context reverts to (json-gold's previousContext).
// Transitions (apply a type-scoped or property-scoped context of term T) are
// computed once with json-gold's Context.Parse and memoized per state.
// Parse differs from the parse json-gold uses internally only in its
// flags:
//   - propagate: only decides the previousContext, which we track ourselves
//     (type-scoped: prev = old prev, or the old state; property-scoped: prev
//     kept; null context: prev cleared). A scoped context containing
//     @propagate is not supported.
//   - overrideProtected (true for property-scoped contexts): Parse is
//     stricter — it raises "protected term redefinition" where json-gold
//     would accept, and keeps terms protected that json-gold would unprotect
//     (which can only cause more such errors later). Any error during a
//     transition makes the fast path fall back, so this strictness only
//     costs a fallback, never a different result. A property-scoped null
//     context is built as json-gold does (a fresh context).
//
// Unsupported, fall back to the reference path: embedded @context, keywords
// other than @id/@type (@value, @list, @set, @graph, @reverse, @nest,
// @index, @included, @language, …), containers other than @set/@graph,
// reverse properties, non-string @id, non-string @type entries, two keys
// expanding to the same keyword, undefined terms (the reference reports the
// error), more than maxStates context states.

import (
	"sort"
	"sync"

	"github.com/piprate/json-gold/ld"
)

const maxStates = 2048

type ctxState struct {
	ctx  *ld.Context
	prev *ctxState // what a type-scoped context reverts to; nil if none
	root *stateTable

	mu       sync.RWMutex
	typed    map[transKey]*ctxState // type-scoped context of term → state
	property map[transKey]*ctxState // property-scoped context of term → state
}

// transKey identifies a transition: the term and the definition whose
// @context is applied (the definition may come from another state than the
// one the context is applied to, e.g. the type-scoped context of the second
// type of a node is taken from the context before the first one applied).
type transKey struct {
	term string
	td   *ld.TermDefinition
}

type stateTable struct {
	mu         sync.Mutex
	count      int
	opts       *ld.JsonLdOptions
	contextKey func(any) (string, bool) // Canonicalizer.contextKey
}

func newRootState(ctx *ld.Context, opts *ld.JsonLdOptions, contextKey func(any) (string, bool)) *ctxState {
	return &ctxState{ctx: ctx, root: &stateTable{count: 1, opts: opts, contextKey: contextKey}}
}

// transition returns the state after applying the scoped context of term
// (typed: type-scoped, else property-scoped), memoized.
func (s *ctxState) transition(term string, typed bool, td *ld.TermDefinition, embedded ...any) (*ctxState, error) {
	if td == nil {
		term = "\x00" + term // embedded @context: cannot collide with a term
	}
	s.mu.RLock()
	m := s.property
	if typed {
		m = s.typed
	}
	key := transKey{term, td}
	n := m[key]
	s.mu.RUnlock()
	if n != nil {
		return n, nil
	}
	var local any
	if td != nil {
		local = td.Context
	} else {
		local = embedded[0]
	}
	var next *ctxState
	switch {
	case local == nil && !typed:
		next = &ctxState{ctx: ld.NewContext(nil, s.root.opts), prev: nil, root: s.root}
	case td == nil: // embedded @context: URLs checked by the caller
		ctx, err := s.ctx.Parse(local)
		if err != nil || ctx == nil {
			return nil, errNotHandled
		}
		next = &ctxState{ctx: ctx, prev: s.prev, root: s.root}
	default:
		if cm, isMap := local.(map[string]any); isMap {
			if _, has := cm["@propagate"]; has {
				return nil, errNotHandled
			}
		} else {
			// strings (remote contexts), arrays, null type-scoped contexts
			return nil, errNotHandled
		}
		ctx, err := s.ctx.Parse(local)
		if err != nil || ctx == nil {
			return nil, errNotHandled
		}
		next = &ctxState{ctx: ctx, prev: s.prev, root: s.root}
		if typed && next.prev == nil {
			next.prev = s
		}
	}
	s.root.mu.Lock()
	full := s.root.count >= maxStates
	if !full {
		s.root.count++
	}
	s.root.mu.Unlock()
	if full {
		return nil, errNotHandled
	}
	s.mu.Lock()
	if typed {
		if s.typed == nil {
			s.typed = map[transKey]*ctxState{}
		}
		if existing := s.typed[key]; existing != nil {
			next = existing
		} else {
			s.typed[key] = next
		}
	} else {
		if s.property == nil {
			s.property = map[transKey]*ctxState{}
		}
		if existing := s.property[key]; existing != nil {
			next = existing
		} else {
			s.property[key] = next
		}
	}
	s.mu.Unlock()
	return next, nil
}

// embeddedContext applies a @context entry found inside the document. It
// is memoized like the scoped contexts, keyed by the list of URLs.
func (s *ctxState) embeddedContext(v any) (*ctxState, error) {
	key, ok := s.root.contextKey(v)
	if !ok {
		return nil, errNotHandled
	}
	return s.transition(key, false, nil, v)
}

func (s *ctxState) revert() *ctxState {
	if s.prev == nil {
		return s
	}
	return s.prev
}

func hasContainer(td *ld.TermDefinition, v string) bool {
	if td == nil {
		return false
	}
	for _, c := range td.Container {
		if c == v {
			return true
		}
	}
	return false
}

// expandFast mirrors expandElement; activeProperty "" is the top level.
// typeScoped may be nil.
func expandFast(s *ctxState, activeProperty string, element any, typeScoped *ctxState) (any, error) {
	if element == nil {
		return nil, nil
	}
	switch elem := element.(type) {
	case []any:
		if activeProperty != "" && hasContainer(s.ctx.TermDefinitions[activeProperty], "@list") {
			return nil, errNotHandled
		}
		out := make([]any, 0, len(elem))
		for _, item := range elem {
			if _, nested := item.([]any); nested {
				return nil, errNotHandled // arrays of arrays (list of lists)
			}
			v, err := expandFast(s, activeProperty, item, typeScoped)
			if err != nil {
				return nil, err
			}
			if v != nil {
				if vl, isList := v.([]any); isList {
					out = append(out, vl...)
				} else {
					out = append(out, v)
				}
			}
		}
		return out, nil
	case map[string]any:
		embedded, hasCtx := elem["@context"]
		// json-gold: the property-scoped context is td.Context of the
		// active property in the incoming context, applied only when
		// non-nil (a null one was already applied by expandObject).
		propTD := s.ctx.TermDefinitions[activeProperty]
		if typeScoped == nil && s.prev != nil {
			typeScoped = s
		}
		keys := make([]string, 0, len(elem))
		for k := range elem {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		mustRevert := true
		if typeScoped != nil && len(keys) <= 2 && !hasCtx {
			for _, k := range keys {
				e, err := typeScoped.ctx.ExpandIri(k, false, true, nil, nil)
				if err != nil {
					return nil, errNotHandled
				}
				if e == "@value" {
					return nil, errNotHandled
				}
				if e == "@id" && len(keys) == 1 {
					mustRevert = false
					break
				}
			}
		}
		if mustRevert {
			s = s.revert()
		}
		if propTD != nil && propTD.Context != nil {
			ns, err := s.transition(activeProperty, false, propTD)
			if err != nil {
				return nil, err
			}
			s = ns
		}
		if hasCtx {
			// json-gold: activeCtx.Parse(@context) — the exported Parse
			// itself. Only lists of embedded context URLs are supported.
			ns, err := s.embeddedContext(embedded)
			if err != nil {
				return nil, err
			}
			s = ns
		}
		typeScoped = s
		typeKey := ""
		for _, k := range keys {
			e, err := s.ctx.ExpandIri(k, false, true, nil, nil)
			if err != nil {
				return nil, errNotHandled
			}
			if e != "@type" {
				continue
			}
			if typeKey != "" {
				return nil, errNotHandled
			}
			typeKey = k
			var types []string
			switch v := elem[k].(type) {
			case []any:
				for _, t := range v {
					ts, isStr := t.(string)
					if !isStr {
						return nil, errNotHandled
					}
					types = append(types, ts)
				}
				sort.Strings(types)
			case string:
				types = []string{v}
			default:
				return nil, errNotHandled
			}
			for _, tt := range types {
				if td := typeScoped.ctx.TermDefinitions[tt]; td != nil && td.HasContext {
					ns, err := s.transition(tt, true, td)
					if err != nil {
						return nil, err
					}
					// the memo is keyed by the state it starts from, so a
					// transition applied on s (not on typeScoped) is keyed
					// on s, as json-gold applies it to the current context.
					s = ns
				}
			}
		}
		result, err := expandObjectFast(s, activeProperty, elem, keys, typeScoped)
		if err != nil {
			return nil, err
		}
		if t, has := result["@type"]; has {
			if _, isList := t.([]any); !isList {
				result["@type"] = []any{t}
			}
		}
		if activeProperty == "" {
			_, hasID := result["@id"]
			if len(result) == 0 || (hasID && len(result) == 1) {
				return nil, nil
			}
		}
		return result, nil
	default:
		if activeProperty == "" {
			return nil, nil
		}
		return s.ctx.ExpandValue(activeProperty, element)
	}
}

func expandObjectFast(s *ctxState, activeProperty string, elem map[string]any, keys []string, typeScoped *ctxState) (map[string]any, error) {
	result := make(map[string]any, len(elem))
	for _, key := range keys {
		if key == "@context" {
			continue
		}
		value := elem[key]
		ep, err := s.ctx.ExpandIri(key, false, true, nil, nil)
		if err != nil {
			return nil, errNotHandled
		}
		if ep == "" || !ld.IsKeyword(ep) && !containsColon(ep) {
			return nil, errNotHandled // safe mode error: the reference reports it
		}
		if ld.IsKeyword(ep) {
			if _, dup := result[ep]; dup {
				return nil, errNotHandled
			}
			switch ep {
			case "@id":
				vs, isStr := value.(string)
				if !isStr {
					return nil, errNotHandled
				}
				id, err := s.ctx.ExpandIri(vs, true, false, nil, nil)
				if err != nil {
					return nil, errNotHandled
				}
				result["@id"] = id
			case "@type":
				switch v := value.(type) {
				case []any:
					out := make([]any, 0, len(v))
					for _, t := range v {
						ts, isStr := t.(string)
						if !isStr {
							return nil, errNotHandled
						}
						e, err := typeScoped.ctx.ExpandIri(ts, true, true, nil, nil)
						if err != nil {
							return nil, errNotHandled
						}
						out = append(out, e)
					}
					result["@type"] = out
				case string:
					e, err := typeScoped.ctx.ExpandIri(v, true, true, nil, nil)
					if err != nil {
						return nil, errNotHandled
					}
					result["@type"] = e
				default:
					return nil, errNotHandled
				}
			default:
				return nil, errNotHandled
			}
			continue
		}
		td := s.ctx.TermDefinitions[key]
		if td != nil && td.Reverse {
			return nil, errNotHandled
		}
		termState := s
		if td != nil && td.HasContext {
			termState, err = s.transition(key, false, td)
			if err != nil {
				return nil, err
			}
		}
		ttd := termState.ctx.TermDefinitions[key]
		isGraph := false
		if ttd != nil {
			for _, c := range ttd.Container {
				switch c {
				case "@set":
				case "@graph":
					isGraph = true
				default:
					return nil, errNotHandled
				}
			}
			if ttd.Reverse {
				return nil, errNotHandled
			}
		}
		var ev any
		if td != nil && td.Type == "@json" {
			ev = map[string]any{"@type": "@json", "@value": value}
		} else {
			ev, err = expandFast(termState, key, value, nil)
			if err != nil {
				return nil, err
			}
		}
		if ev == nil {
			continue
		}
		if isGraph {
			evs := ld.Arrayify(ev)
			wrapped := make([]any, 0, len(evs))
			for _, e := range evs {
				wrapped = append(wrapped, map[string]any{"@graph": ld.Arrayify(e)})
			}
			ev = wrapped
		}
		list, _ := result[ep].([]any)
		if list == nil {
			list = []any{}
		}
		if l, isList := ev.([]any); isList {
			list = append(list, l...)
		} else {
			list = append(list, ev)
		}
		result[ep] = list
	}
	return result, nil
}

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}
