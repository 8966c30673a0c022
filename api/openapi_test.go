package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
)

// oaDoc is the embedded OpenAPI document, decoded.
type oaDoc map[string]any

func loadOpenAPI(t *testing.T) oaDoc {
	t.Helper()
	var d oaDoc
	if err := json.Unmarshal(openAPI, &d); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return d
}

// pointer follows a JSON pointer ("#/components/schemas/Error") inside the
// document.
func (d oaDoc) pointer(ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#") {
		return nil, false
	}
	var cur any = map[string]any(d)
	rest := strings.TrimPrefix(ref, "#")
	if rest == "" {
		return cur, true
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(rest[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// resolve follows $ref until it reaches an object without one; nil (and
// an error) when it cannot.
func (d oaDoc) resolve(t *testing.T, v any) map[string]any {
	t.Helper()
	for range 20 {
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("expected an object, got %T", v)
			return nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		if v, ok = d.pointer(ref); !ok {
			return nil // reported by the $ref walk
		}
	}
	t.Error("$ref chain too long")
	return nil
}

func oaObj(v any) map[string]any { m, _ := v.(map[string]any); return m }

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations calls f for every operation of the document.
func (d oaDoc) operations(f func(path, method string, op map[string]any)) {
	paths := oaObj(d["paths"])
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		item := oaObj(paths[p])
		for _, m := range oaMethods {
			if op := oaObj(item[m]); op != nil {
				f(p, m, op)
			}
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	d := loadOpenAPI(t)
	if v, _ := d["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf(`"openapi" is %q, want 3.x`, d["openapi"])
	}
	info := oaObj(d["info"])
	if info["title"] == nil || info["version"] == nil {
		t.Error("info needs a title and a version")
	}

	// Every $ref resolves inside the document.
	var refs int
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch c := v.(type) {
		case map[string]any:
			if ref, ok := c["$ref"].(string); ok {
				refs++
				if _, ok := d.pointer(ref); !ok {
					t.Errorf("%s: $ref %q does not resolve inside the document", at, ref)
				}
			}
			for k, e := range c {
				walk(e, at+"/"+k)
			}
		case []any:
			for i, e := range c {
				walk(e, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(map[string]any(d), "#")
	if refs == 0 {
		t.Error("no $ref at all: the document is suspiciously flat")
	}

	schemes := oaObj(oaObj(d["components"])["securitySchemes"])
	for _, name := range []string{"bearerAuth", "cookieSession", "csrfToken"} {
		if schemes[name] == nil {
			t.Errorf("securitySchemes lacks %s", name)
		}
	}
	errorSchema := "#/components/schemas/Error"
	opIDs := map[string]string{}
	placeholder := regexp.MustCompile(`\{([^}]+)\}`)
	d.operations(func(path, method string, op map[string]any) {
		where := strings.ToUpper(method) + " " + path
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", where)
		} else if prev, dup := opIDs[id]; dup {
			t.Errorf("%s: operationId %s already used by %s", where, id, prev)
		}
		opIDs[id] = where
		if s, _ := op["summary"].(string); s == "" {
			t.Errorf("%s: no summary", where)
		}

		// Path parameters match the template's placeholders exactly.
		want := map[string]bool{}
		for _, m := range placeholder.FindAllStringSubmatch(path, -1) {
			want[m[1]] = true
		}
		got := map[string]bool{}
		var params []any
		params = append(params, oaList(oaObj(oaObj(d["paths"])[path])["parameters"])...)
		params = append(params, oaList(op["parameters"])...)
		for _, p := range params {
			pm := d.resolve(t, p)
			if pm["in"] == "path" {
				name, _ := pm["name"].(string)
				if pm["required"] != true {
					t.Errorf("%s: path parameter %s must be required", where, name)
				}
				got[name] = true
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: path parameters %v, template has %v", where, oaKeys(got), oaKeys(want))
		}

		// Security: protected operations take a token or a session, and
		// the session needs the CSRF token on unsafe methods.
		sec, ok := op["security"].([]any)
		if !ok {
			t.Errorf("%s: no security (use [] for a public operation)", where)
		}
		// The xAPI statement resource takes an LMS client's HTTP Basic
		// credentials, as learning record stores do.
		if strings.HasPrefix(path, "/xapi/statements") {
			if len(sec) != 1 || len(oaObj(sec[0])) != 1 || oaObj(sec[0])["lmsBasic"] == nil || oaObj(op["responses"])["401"] == nil {
				t.Errorf("%s: must take lmsBasic alone and answer 401", where)
			}
			sec = nil
		}
		public := !strings.HasPrefix(path, "/api/v1/") || path == "/api/v1/verify" || path == "/api/v1/openapi.json"
		if public && len(sec) != 0 {
			t.Errorf("%s: public, but its security is %v", where, sec)
		}
		if !public {
			var bearer, cookie bool
			for _, s := range sec {
				req := oaObj(s)
				for name := range req {
					if schemes[name] == nil {
						t.Errorf("%s: unknown security scheme %s", where, name)
					}
				}
				if _, ok := req["bearerAuth"]; ok {
					bearer = true
				}
				if _, ok := req["cookieSession"]; ok {
					cookie = true
					if _, csrf := req["csrfToken"]; csrf != (method != "get") {
						t.Errorf("%s: the cookie session must come with csrfToken exactly on unsafe methods", where)
					}
				}
			}
			if !bearer || !cookie {
				t.Errorf("%s: protected, so its security must list bearerAuth and cookieSession, not %v", where, sec)
			}
			if oaObj(op["responses"])["401"] == nil {
				t.Errorf("%s: protected, but no 401 answer", where)
			}
		}

		// Every error answer has the Error shape.
		responses := oaObj(op["responses"])
		if len(responses) == 0 {
			t.Errorf("%s: no responses", where)
		}
		for code, r := range responses {
			n, err := strconv.Atoi(code)
			if code != "default" && (err != nil || n < 100 || n > 599) {
				t.Errorf("%s: response key %q", where, code)
				continue
			}
			rm := d.resolve(t, r)
			if rm["description"] == nil {
				t.Errorf("%s %s: response without description", where, code)
			}
			if code != "default" && n < 400 {
				continue
			}
			content := oaObj(rm["content"])
			s := oaObj(oaObj(content["application/json"])["schema"])
			if len(content) != 1 || s["$ref"] != errorSchema {
				t.Errorf("%s %s: an error answer must be application/json with schema %s", where, code, errorSchema)
			}
		}

		// JSON request bodies refuse unknown fields, as decode does.
		if rb := op["requestBody"]; rb != nil {
			for mt, c := range oaObj(d.resolve(t, rb)["content"]) {
				if mt == "application/json" {
					d.checkClosed(t, where, oaObj(c)["schema"], map[string]bool{})
				}
			}
		}
	})

	// The handler serves these very bytes.
	rec := httptest.NewRecorder()
	serveOpenAPI(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || rec.Body.String() != string(openAPI) {
		t.Errorf("serveOpenAPI: %d %s, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
}

// checkClosed asserts that every object schema with properties reachable
// from a request body schema has additionalProperties: false.
func (d oaDoc) checkClosed(t *testing.T, where string, v any, seen map[string]bool) {
	t.Helper()
	m := oaObj(v)
	if m == nil {
		return
	}
	if ref, ok := m["$ref"].(string); ok {
		if seen[ref] {
			return
		}
		seen[ref] = true
		where += " " + ref
		m = d.resolve(t, m)
	}
	if props := oaObj(m["properties"]); props != nil {
		if m["additionalProperties"] != false {
			t.Errorf("%s: request schema with properties %v lacks additionalProperties: false", where, oaKeys(props))
		}
		for _, p := range props {
			d.checkClosed(t, where, p, seen)
		}
	}
	d.checkClosed(t, where, m["items"], seen)
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		for _, s := range oaList(m[k]) {
			d.checkClosed(t, where, s, seen)
		}
	}
}

func oaList(v any) []any { l, _ := v.([]any); return l }

func oaKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// signInRoutes serve HTML forms and redirects for browsers; the document
// leaves them out on purpose.
var undocumentedRoutes = []string{
	"GET /signin", "POST /signin", "GET /signin/link", "POST /signout",
	"GET /auth/oidc/start", "GET /auth/oidc/callback",
	// The OAuth endpoints of the OB API follow RFC 6749, 7591 and 7009
	// (their own error shape); the service description document names
	// them.
	"POST /ims/ob/v3p0/register", "GET /ims/ob/v3p0/authorize", "POST /ims/ob/v3p0/authorize",
	"POST /ims/ob/v3p0/token", "POST /ims/ob/v3p0/revoke",
	// The Open Badges 3.0 API: described by its own specification, with
	// its own error shape (imsx_StatusInfo).
	"GET /ims/ob/v3p0/credentials", "POST /ims/ob/v3p0/credentials", "GET /ims/ob/v3p0/profile", "PUT /ims/ob/v3p0/profile",
	// HR's verification pages: HTML forms for people, whose API twin is
	// POST /api/v1/verify.
	"GET /verify", "POST /verify", "GET /v/{code}",
}

// TestOpenAPICoversRoutes checks that the document and the router describe
// the same (method, path) pairs.
func TestOpenAPICoversRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	s := &Server{}
	r := mux.NewRouter()
	nop := func(http.ResponseWriter, *http.Request) {}
	// What New registers directly.
	r.HandleFunc("/healthz", nop).Methods(http.MethodGet)
	r.HandleFunc("/readyz", nop).Methods(http.MethodGet)
	r.HandleFunc("/metrics", nop).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/openapi.json", nop).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/verify", nop).Methods(http.MethodPost)
	s.publicRoutes(r)
	s.apiRoutes(r)
	s.signInRoutes(r)
	s.competencyRoutes(r)
	s.oauthRoutes(r, Config{})
	s.backpackRoutes(r)
	s.completionRoutes(r)
	s.xapiRoutes(r)
	s.attestRoutes(r)
	s.peopleRoutes(r)

	routed := map[string]bool{}
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a prefix holding a subrouter
		}
		for _, p := range openAPIPaths(t, tpl) {
			for _, m := range methods {
				routed[m+" "+p] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routed) < 30 {
		t.Fatalf("only %d routes found: %v", len(routed), oaKeys(routed))
	}
	for _, u := range undocumentedRoutes {
		if !routed[u] {
			t.Errorf("%s is listed as undocumented but the router lacks it", u)
		}
		delete(routed, u)
	}

	documented := map[string]bool{}
	d.operations(func(path, method string, _ map[string]any) {
		documented[strings.ToUpper(method)+" "+path] = true
	})
	for _, k := range oaKeys(routed) {
		if !documented[k] {
			t.Errorf("the router serves %s, which openapi.json does not describe", k)
		}
	}
	for _, k := range oaKeys(documented) {
		if !routed[k] {
			t.Errorf("openapi.json describes %s, which the router does not serve", k)
		}
	}
}

var oaLiteralChoices = regexp.MustCompile(`^[A-Za-z0-9._~-]+(\|[A-Za-z0-9._~-]+)*$`)

// openAPIPaths turns a mux path template into the OpenAPI paths it stands
// for: {name:pattern} becomes {name}, unless the pattern is a choice of
// literals (png|svg), which gives one concrete path per choice.
func openAPIPaths(t *testing.T, tpl string) []string {
	t.Helper()
	out := []string{""}
	for i := 0; i < len(tpl); {
		if tpl[i] != '{' {
			j := strings.IndexByte(tpl[i:], '{')
			if j < 0 {
				j = len(tpl) - i
			}
			for k := range out {
				out[k] += tpl[i : i+j]
			}
			i += j
			continue
		}
		depth, end := 0, -1
		for j := i; j < len(tpl); j++ {
			switch tpl[j] {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 {
				end = j
				break
			}
		}
		if end < 0 {
			t.Fatalf("unbalanced braces in %q", tpl)
		}
		name, pattern, _ := strings.Cut(tpl[i+1:end], ":")
		parts := []string{"{" + name + "}"}
		if oaLiteralChoices.MatchString(pattern) {
			parts = strings.Split(pattern, "|")
		}
		var next []string
		for _, o := range out {
			for _, p := range parts {
				next = append(next, o+p)
			}
		}
		out = next
		i = end + 1
	}
	return out
}

func TestOpenAPIPathsConversion(t *testing.T) {
	for tpl, want := range map[string][]string{
		"/credentials/{id}/badge.{format:png|svg}":         {"/credentials/{id}/badge.png", "/credentials/{id}/badge.svg"},
		"/status/{slug}/{n:[0-9]+}":                        {"/status/{slug}/{n}"},
		"/evidence/{sha:[0-9a-f]{64}}":                     {"/evidence/{sha}"},
		"/api/v1/credentials/{id}/{action:revoke|suspend}": {"/api/v1/credentials/{id}/revoke", "/api/v1/credentials/{id}/suspend"},
		"/healthz": {"/healthz"},
	} {
		if got := openAPIPaths(t, tpl); !slices.Equal(got, want) {
			t.Errorf("openAPIPaths(%q) = %v, want %v", tpl, got, want)
		}
	}
}

// TestOpenAPISchemasMatchTypes keeps the schemas' properties in step with
// the Go types the handlers decode and encode.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	d := loadOpenAPI(t)
	schemas := oaObj(oaObj(d["components"])["schemas"])
	for _, c := range []struct {
		schema string
		v      any
		omit   []string // fields the type has but a request may not set
	}{
		{"IssuerInput", issuing.IssuerInput{}, nil},
		{"AchievementInput", achievementInput{}, []string{"id", "creator"}},
		{"AwardRequest", issuing.AwardRequest{}, nil},
		{"RecipientInput", issuing.RecipientInput{}, nil},
		{"EvidenceInput", issuing.EvidenceInput{}, nil},
		{"Criteria", badges.Criteria{}, nil},
		{"Image", badges.Image{}, nil},
		{"Alignment", badges.Alignment{}, nil},
		{"IdentifierEntry", badges.IdentifierEntry{}, nil},
		{"Related", badges.Related{}, nil},
		{"ResultDescription", badges.ResultDescription{}, nil},
		{"RubricCriterionLevel", badges.RubricCriterionLevel{}, nil},
		{"Result", badges.Result{}, nil},
		{"RowError", issuing.RowError{}, nil},
		{"Issuer", issuerJSON{}, nil},
		{"Key", keyJSON{}, nil},
		{"Token", tokenJSON{}, nil},
		{"LMSClient", lmsClientJSON{}, nil},
		{"CompletionsImported", completionsJSON{}, nil},
		{"Report", badges.Report{}, nil},
		{"Check", badges.Check{}, nil},
		{"Summary", badges.Summary{}, nil},
		{"Framework", frameworkJSON{}, nil},
		{"CompetencyAwardRequest", competencyAwardRequest{}, nil},
		{"PendingAward", pendingJSON{}, nil},
		{"CompletionAward", completionAwardJSON{}, nil},
		{"Learner", competency.Learner{}, nil},
		{"CompetencyProfile", competency.Profile{}, nil},
		{"ProfileFramework", competency.ProfileFramework{}, nil},
		{"ProfileItem", competency.ProfileItem{}, nil},
		{"Level", competency.Level{}, nil},
		{"CoveringCredential", competency.CoveringCredential{}, nil},
		{"Statistics", competency.Statistics{}, nil},
		{"Count", competency.Count{}, nil},
		{"BackpackCredential", holdingJSON{}, nil},
		{"EmailInput", EmailInput{}, nil},
		{"Email", emailJSON{}, nil},
		{"CollectionInput", CollectionInput{}, nil},
		{"Collection", collectionJSON{}, nil},
		{"ShareInput", ShareInput{}, nil},
		{"Share", shareJSON{}, nil},
		{"CLRInput", CLRInput{}, nil},
		{"EraseInput", EraseInput{}, nil},
		{"AttestationRequest", attest.Request{}, nil},
		{"Session", attest.Session{}, nil},
		{"Signatory", attest.Signatory{}, nil},
		{"AttestationLearner", attest.Learner{}, nil},
		{"Participant", attest.Participant{}, nil},
		{"Attestation", attestationJSON{}, nil},
		{"AttestationVerdict", attestationVerdict{}, nil},
	} {
		s := oaObj(schemas[c.schema])
		if s == nil {
			t.Errorf("no schema %s", c.schema)
			continue
		}
		var want []string
		for _, f := range oaJSONFields(reflect.TypeOf(c.v)) {
			if !slices.Contains(c.omit, f) {
				want = append(want, f)
			}
		}
		sort.Strings(want)
		if got := oaKeys(oaObj(s["properties"])); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v; %T has %v", c.schema, got, c.v, want)
		}
		for _, f := range c.omit {
			if s["additionalProperties"] != false {
				t.Errorf("schema %s must refuse %s (additionalProperties: false)", c.schema, f)
			}
		}
	}
}

// oaJSONFields lists the JSON names encoding/json uses for a struct type,
// embedded structs flattened.
func oaJSONFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && !strings.HasPrefix(tag, "-,") {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, oaJSONFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// TestOpenAPIDocumentsBackPressure checks the answers every route can
// give whatever it does: 429 from the rate limiter (which sees every
// request but the probes: a spent sign-in budget refuses any request with
// credentials), 503 when the database does not answer (every route that
// reads it: authentication alone does), both with Retry-After, and 507
// where a file is written to disk.
func TestOpenAPIDocumentsBackPressure(t *testing.T) {
	d := loadOpenAPI(t)
	probes := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}
	// Served from memory: nothing to wait for.
	noDatabase := map[string]bool{"GET /healthz": true, "GET /metrics": true, "GET /api/v1/openapi.json": true,
		"GET /ims/ob/v3p0/discovery": true, "GET /xapi/about": true}
	disk := map[string]bool{"POST /api/v1/evidence": true}
	retryAfter := func(where, code string, r map[string]any) {
		h := d.resolve(t, oaObj(oaObj(r["headers"])["Retry-After"]))
		if h == nil || oaObj(h["schema"])["type"] != "integer" {
			t.Errorf("%s %s: no Retry-After header (integer seconds)", where, code)
		}
	}
	d.operations(func(path, method string, op map[string]any) {
		where := strings.ToUpper(method) + " " + path
		responses := oaObj(op["responses"])
		if r := responses["429"]; probes[where] != (r == nil) {
			t.Errorf("%s: 429 documented %v, want %v", where, r != nil, !probes[where])
		} else if r != nil {
			retryAfter(where, "429", d.resolve(t, r))
		}
		if r := responses["503"]; noDatabase[where] != (r == nil) {
			t.Errorf("%s: 503 documented %v, want %v", where, r != nil, !noDatabase[where])
		} else if r != nil && where != "GET /readyz" {
			retryAfter(where, "503", d.resolve(t, r))
		}
		if r := responses["507"]; disk[where] != (r != nil) {
			t.Errorf("%s: 507 documented %v, want %v", where, r != nil, disk[where])
		}
	})
}
