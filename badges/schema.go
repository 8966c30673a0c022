package badges

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schema/ob_v3p0_achievementcredential_schema.json schema/clr_v2p0_clrcredential_schema_draft4.json schema/EndorsementCredential-from-achievementcredential-schema.json
var schemaFiles embed.FS

// Where the embedded schemas are registered. The OB file's own $id is the
// .../schema/json-ld/... variant; credentials reference .../schema/json/...
// (SchemaAchievementCredential), so both resolve to it.
const (
	schemaOBJSONLD = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/ob_v3p0_achievementcredential_schema.json"
	// schemaCLRVCDM11 is the CLR 2.0 draft-04 schema as 1EdTech's validator
	// ships it: written for VCDM 1.1 (issuanceDate required). It is not
	// published at this address; it is registered here, under a name of
	// ours, for VCDM 1.1 ClrCredentials.
	schemaCLRVCDM11 = "https://insigne.invalid/schema/clr_v2p0_clrcredential_schema_vcdm11.json"
)

// ErrUnknownSchema is returned by ValidateWithSchema for a schema id that is
// not embedded: schemas are never fetched.
var ErrUnknownSchema = errors.New("JSON Schema not available offline")

// Schemas validates credentials against the 1EdTech JSON Schemas embedded in
// the binary. It is immutable once created and safe for concurrent use.
type Schemas struct {
	ob          *jsonschema.Schema
	endorsement *jsonschema.Schema
	clr         *jsonschema.Schema // VCDM 2.0
	clr11       *jsonschema.Schema // VCDM 1.1
	byID        map[string]*jsonschema.Schema
}

// DefaultSchemas returns Schemas compiled once per process. Sharing them is
// safe: a compiled jsonschema.Schema is never modified by validation, and
// Schemas has no setter.
var DefaultSchemas = sync.OnceValues(NewSchemas)

// NewSchemas compiles the embedded schemas (a few milliseconds: do it once).
func NewSchemas() (*Schemas, error) {
	read := func(name string) (any, error) {
		b, err := schemaFiles.ReadFile("schema/" + name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		return doc, nil
	}
	ob, err := read("ob_v3p0_achievementcredential_schema.json")
	if err != nil {
		return nil, err
	}
	endorsement, err := read("EndorsementCredential-from-achievementcredential-schema.json")
	if err != nil {
		return nil, err
	}
	clr11, err := read("clr_v2p0_clrcredential_schema_draft4.json")
	if err != nil {
		return nil, err
	}
	// A second, independent copy to patch (the documents are mutable maps).
	clr20, err := read("clr_v2p0_clrcredential_schema_draft4.json")
	if err != nil {
		return nil, err
	}
	dropEmptyRequired(clr11)
	dropEmptyRequired(clr20)
	vcdm2CLR(clr20)

	c := jsonschema.NewCompiler()
	c.UseLoader(offlineLoader{})
	// Dates must be RFC 3339 date-times, as the schema says: draft 2019-09
	// treats "format" as an annotation unless asked.
	c.AssertFormat()
	resources := []struct {
		url string
		doc any
	}{
		{schemaOBJSONLD, ob},
		// The canonical address references the same document rather than
		// registering a copy: one $id, one set of $defs.
		{SchemaAchievementCredential, map[string]any{
			"$schema": "https://json-schema.org/draft/2019-09/schema",
			"$ref":    schemaOBJSONLD,
		}},
		{SchemaEndorsementCredential, endorsement},
		{SchemaClrCredential, clr20},
		{schemaCLRVCDM11, clr11},
	}
	for _, r := range resources {
		if err := c.AddResource(r.url, r.doc); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", r.url, err)
		}
	}
	s := &Schemas{byID: make(map[string]*jsonschema.Schema)}
	for _, r := range resources {
		sch, err := c.Compile(r.url)
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", r.url, err)
		}
		s.byID[r.url] = sch
	}
	s.ob = s.byID[SchemaAchievementCredential]
	s.endorsement = s.byID[SchemaEndorsementCredential]
	s.clr = s.byID[SchemaClrCredential]
	s.clr11 = s.byID[schemaCLRVCDM11]
	return s, nil
}

// vcdm2CLR adapts the CLR 2.0 schema, written for VCDM 1.1, to VCDM 2.0
// credentials, as the CLR 2.0 spec now issues them: wherever issuanceDate is
// required (the ClrCredential, its nested VerifiableCredentials and
// EndorsementCredentials) validFrom is required instead, and validFrom and
// validUntil are date-times; and a credentialStatus may carry the members
// of its status method (a BitstringStatusListEntry's statusPurpose,
// statusListIndex and statusListCredential), as in the OB 3.0 schema,
// instead of only id and type. Everything else is the 1EdTech schema as is.
func vcdm2CLR(v any) {
	if root, ok := v.(map[string]any); ok {
		if defs, ok := root["$defs"].(map[string]any); ok {
			if cs, ok := defs["CredentialStatus"].(map[string]any); ok {
				cs["additionalProperties"] = true
			}
		}
	}
	vcdm2CLRDates(v)
}

func vcdm2CLRDates(v any) {
	switch x := v.(type) {
	case map[string]any:
		if req, ok := x["required"].([]any); ok && slices.Contains(req, any("issuanceDate")) {
			for i, r := range req {
				if r == "issuanceDate" {
					req[i] = "validFrom"
				}
			}
			if props, ok := x["properties"].(map[string]any); ok {
				for _, name := range []string{"validFrom", "validUntil"} {
					if _, exists := props[name]; !exists {
						props[name] = map[string]any{"type": "string", "format": "date-time"}
					}
				}
			}
		}
		for _, e := range x {
			vcdm2CLRDates(e)
		}
	case []any:
		for _, e := range x {
			vcdm2CLRDates(e)
		}
	}
}

// dropEmptyRequired removes `"required": []` members. The CLR schema has
// them, and draft-04 forbids them (required needs at least one name), so a
// conforming compiler refuses the schema; an empty list requires nothing, so
// removing it changes no validation result.
func dropEmptyRequired(v any) {
	switch x := v.(type) {
	case map[string]any:
		if req, ok := x["required"].([]any); ok && len(req) == 0 {
			delete(x, "required")
		}
		for _, e := range x {
			dropEmptyRequired(e)
		}
	case []any:
		for _, e := range x {
			dropEmptyRequired(e)
		}
	}
}

// offlineLoader refuses every reference that is not embedded: validation
// must not depend on, nor leak to, the network.
type offlineLoader struct{}

func (offlineLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%w: refusing to fetch %s", ErrUnknownSchema, url)
}

// Violation is one way a document breaks a schema.
type Violation struct {
	// Pointer is the JSON pointer (RFC 6901) of the offending value, "" for
	// the document itself.
	Pointer string
	Message string
}

func (v Violation) String() string {
	if v.Pointer == "" {
		return "document: " + v.Message
	}
	return v.Pointer + ": " + v.Message
}

// SchemaError lists the violations of a document against a schema.
type SchemaError struct {
	Schema     string // the schema id
	Violations []Violation
}

func (e *SchemaError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "does not match JSON Schema %s: ", e.Schema)
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// ValidateCredential validates a credential against the 1EdTech schema for
// its type: ClrCredential (VCDM 2.0, or VCDM 1.1 by its first @context),
// EndorsementCredential, otherwise AchievementCredential/OpenBadgeCredential
// (whose schema then reports a wrong type). doc is decoded JSON
// (map[string]any), raw JSON ([]byte, json.RawMessage) or a Go value such as
// *AchievementCredential, which is encoded first. Violations are returned as
// a *SchemaError.
//
// Credentials nested in a CLR are checked against the CLR schema only; each
// is validated against its own schema when it is verified. There is no OB
// schema for VCDM 1.1 AchievementCredentials: they fail at /@context/0.
func (s *Schemas) ValidateCredential(doc any) error {
	v, err := toJSONValue(doc)
	if err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return &SchemaError{Schema: SchemaAchievementCredential, Violations: []Violation{{Message: "a credential must be a JSON object"}}}
	}
	types := jsonTypes(obj["type"])
	switch {
	case slices.Contains(types, "ClrCredential"):
		if ctx, _ := obj["@context"].([]any); len(ctx) > 0 && ctx[0] == "https://www.w3.org/2018/credentials/v1" {
			return validate(s.clr11, SchemaClrCredential+" (VCDM 1.1)", v)
		}
		return validate(s.clr, SchemaClrCredential, v)
	case slices.Contains(types, "EndorsementCredential"):
		return validate(s.endorsement, SchemaEndorsementCredential, v)
	default:
		return validate(s.ob, SchemaAchievementCredential, v)
	}
}

// ValidateWithSchema validates doc against the embedded schema with the
// given id (a credentialSchema id), or returns ErrUnknownSchema.
func (s *Schemas) ValidateWithSchema(id string, doc any) error {
	sch, ok := s.byID[id]
	if !ok || id == schemaCLRVCDM11 {
		return fmt.Errorf("%w: %s", ErrUnknownSchema, id)
	}
	v, err := toJSONValue(doc)
	if err != nil {
		return err
	}
	return validate(sch, id, v)
}

func jsonTypes(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// toJSONValue returns doc as the decoded JSON the validator works on
// (numbers as json.Number, so that large integers stay exact).
func toJSONValue(doc any) (any, error) {
	var raw []byte
	switch d := doc.(type) {
	case map[string]any, []any:
		return d, nil
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	default:
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("encode credential: %w", err)
		}
		raw = b
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("credential is not JSON: %w", err)
	}
	return v, nil
}

func validate(sch *jsonschema.Schema, id string, v any) error {
	err := sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validate against %s: %w", id, err)
	}
	p := message.NewPrinter(language.English)
	var out []Violation
	collectViolations(ve, p, &out)
	slices.SortStableFunc(out, func(a, b Violation) int { return strings.Compare(a.Pointer, b.Pointer) })
	out = slices.Compact(out)
	return &SchemaError{Schema: id, Violations: out}
}

// collectViolations keeps the leaves of the error tree: the inner nodes
// ("allOf failed", "$ref failed") only group them. Two nodes are rewritten
// to read as a person would say it: a failed "contains" is reported on the
// array, not as a failure of each item, and in a "oneOf"/"anyOf" the
// alternatives rejected only for their JSON type are dropped when another
// alternative got further (an issuer object is not reported as "not a
// string").
func collectViolations(e *jsonschema.ValidationError, p *message.Printer, out *[]Violation) {
	switch e.ErrorKind.(type) {
	case *kind.Contains:
		var msgs []string
		for _, l := range leaves(e) {
			if m := l.ErrorKind.LocalizedString(p); !slices.Contains(msgs, m) {
				msgs = append(msgs, m)
			}
		}
		*out = append(*out, Violation{Pointer: pointer(e.InstanceLocation), Message: "no item matches: " + strings.Join(msgs, "; ")})
		return
	case *kind.OneOf, *kind.AnyOf:
		var kept []*jsonschema.ValidationError
		for _, c := range e.Causes {
			if !onlyTypeMismatch(c, len(e.InstanceLocation)) {
				kept = append(kept, c)
			}
		}
		if len(kept) > 0 {
			for _, c := range kept {
				collectViolations(c, p, out)
			}
			return
		}
	}
	if len(e.Causes) == 0 {
		*out = append(*out, Violation{Pointer: pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(p)})
		return
	}
	for _, c := range e.Causes {
		collectViolations(c, p, out)
	}
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// onlyTypeMismatch reports whether e failed only because the value at depth
// has another JSON type.
func onlyTypeMismatch(e *jsonschema.ValidationError, depth int) bool {
	for _, l := range leaves(e) {
		if _, ok := l.ErrorKind.(*kind.Type); !ok || len(l.InstanceLocation) != depth {
			return false
		}
	}
	return true
}

func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapePointer(t))
	}
	return b.String()
}
