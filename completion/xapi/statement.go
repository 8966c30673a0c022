// Package xapi receives xAPI 1.0.3 statements as a learning record store
// does, for the completions Moodle's xAPI log store (logstore_xapi) emits:
// a learner completed, passed or failed a course or a course module.
//
// Parsing is strict: a statement that is not valid xAPI, or that Insigne
// cannot turn into a completion (a verb other than completed, passed or
// failed; an actor without an e-mail address), is refused with an *Error
// naming the statement and the property. Statements are stored once by id
// (the same id with a different statement is a conflict, as the xAPI
// specification requires) and every accepted statement becomes a
// completion.Completion handed to the completion service.
package xapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/insigne/insigne/completion"
)

// Version is the xAPI version this package speaks; requests must carry an
// X-Experience-API-Version of 1.0.x.
const Version = "1.0.3"

// Limits on what one request may hold.
const (
	// MaxBody caps a request body: 1,000 logstore_xapi statements (about
	// 2 KB each) fit with room to spare.
	MaxBody = 8 << 20
	// MaxStatements caps the statements of one batch.
	MaxStatements = 2000
	// maxDepth caps JSON nesting (extensions are free-form).
	maxDepth = 32
	// maxString caps any single string value.
	maxString = 64 << 10
)

// The verbs that make a completion. logstore_xapi emits the ADL
// completed for course and module completion; versions before 2018 used
// the Tin Can Registry's completed, accepted as the same verb.
const (
	VerbCompleted       = "http://adlnet.gov/expapi/verbs/completed"
	VerbPassed          = "http://adlnet.gov/expapi/verbs/passed"
	VerbFailed          = "http://adlnet.gov/expapi/verbs/failed"
	verbTinCanCompleted = "http://id.tincanapi.com/verb/completed"
)

// Activity types logstore_xapi gives courses and course modules.
const (
	TypeCourse       = "http://id.tincanapi.com/activitytype/lms/course"
	TypeModule       = "http://id.tincanapi.com/activitytype/lms/module"
	typeADLCourse    = "http://adlnet.gov/expapi/activities/course"
	typeADLModule    = "http://adlnet.gov/expapi/activities/module"
	typeTinCanCourse = "http://id.tincanapi.com/activitytype/course"
)

// Extensions Insigne reads, under {base}/xapi/extensions/. Learner ones
// are read from context.extensions, activity ones from
// object.definition.extensions or context.extensions. Values are strings.
const (
	ExtEmail           = "email"            // the learner's address, when the actor is an account
	ExtAcademie        = "academie"         // the learner's académie (e.g. "Versailles" or "A025")
	ExtDepartement     = "departement"      // the learner's département
	ExtDiscipline      = "discipline"       // the learner's discipline
	ExtGAIADispositif  = "gaia-dispositif"  // GAIA dispositif id of the training
	ExtGAIAModule      = "gaia-module"      // GAIA module id
	ExtGAIASession     = "gaia-session"     // GAIA session id
	ExtMatricule       = "matricule"        // parcours matricule (année_origine_intitulé_version)
	ExtCourseShortName = "course-shortname" // Moodle course short name
)

// ExtensionIRI returns the IRI of extension name under base (the
// service's base URL).
func ExtensionIRI(base, name string) string {
	return strings.TrimSuffix(base, "/") + "/xapi/extensions/" + name
}

// Error is a statement Insigne refuses. Index is the statement's place in
// the batch (0 for a single statement), -1 when the body as a whole is
// wrong; Path names the property.
type Error struct {
	Index  int
	Batch  bool // the body was an array
	Path   string
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Index < 0:
		b.WriteString("the body")
	case e.Batch:
		fmt.Fprintf(&b, "statement [%d]", e.Index)
	default:
		b.WriteString("the statement")
	}
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// ErrTooLarge is returned for a body over MaxBody or a batch over
// MaxStatements.
var ErrTooLarge = errors.New("xapi: too large")

// Statement is an accepted statement: its id (assigned when it had none),
// its JSON as stored, the hash statements with the same id are compared
// by, and the completion it reports.
type Statement struct {
	ID string
	// JSON is the statement with its id, keys sorted: what is stored.
	JSON []byte
	// Hash is the SHA-256 of the statement without the properties an LRS
	// sets or may change (stored, authority, version): two statements
	// with the same id and the same hash are the same statement.
	Hash       string
	Completion completion.Completion
}

// Options configure parsing.
type Options struct {
	// Base is the service's base URL, under which the extension IRIs
	// live.
	Base string
	// NewID gives an id to a statement that has none (a random UUID).
	NewID func() string
	// Now is when the statement was received: the completion time of a
	// statement without timestamp.
	Now time.Time
}

// Parse reads a body holding one statement or an array of statements.
// Every statement is checked before any is returned: one bad statement
// refuses the whole body, with an *Error naming it.
func Parse(body []byte, o Options) ([]Statement, error) {
	if len(body) > MaxBody {
		return nil, fmt.Errorf("%w: the body has %d bytes, the limit is %d", ErrTooLarge, len(body), MaxBody)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, &Error{Index: -1, Reason: "empty: a statement (JSON object) or an array of statements is expected"}
	}
	v, err := decodeJSON(body)
	if err != nil {
		return nil, &Error{Index: -1, Reason: err.Error()}
	}
	var raws []any
	batch := false
	switch t := v.(type) {
	case map[string]any:
		raws = []any{t}
	case []any:
		batch = true
		raws = t
		if len(raws) == 0 {
			return nil, &Error{Index: -1, Reason: "an empty array: send at least one statement"}
		}
		if len(raws) > MaxStatements {
			return nil, fmt.Errorf("%w: %d statements in one batch, the limit is %d", ErrTooLarge, len(raws), MaxStatements)
		}
	default:
		return nil, &Error{Index: -1, Reason: "a statement (JSON object) or an array of statements is expected, not " + jsonKind(v)}
	}
	out := make([]Statement, 0, len(raws))
	for i, r := range raws {
		p := &parser{opts: o, index: i, batch: batch}
		st, err := p.statement(r)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// decodeJSON decodes one JSON value, numbers kept as written, with a
// nesting limit.
func decodeJSON(body []byte) (any, error) {
	if err := checkDepth(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errors.New("invalid JSON: the body ends too early")
		}
		return nil, fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: more than one value in the body")
	}
	return v, nil
}

// checkDepth refuses nesting deeper than maxDepth before decoding (the
// decoder itself would go far deeper).
func checkDepth(b []byte) error {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return fmt.Errorf("invalid JSON: nested deeper than %d levels", maxDepth)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// parser checks one statement; its methods return *Error.
type parser struct {
	opts  Options
	index int
	batch bool
}

func (p *parser) fail(path, format string, args ...any) error {
	return &Error{Index: p.index, Batch: p.batch, Path: path, Reason: fmt.Sprintf(format, args...)}
}

// object checks that v is a JSON object whose keys are among allowed.
func (p *parser) object(path string, v any, allowed ...string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p.fail(path, "must be an object, not %s", jsonKind(v))
	}
	for k, val := range m {
		if !slices.Contains(allowed, k) {
			return nil, p.fail(join(path, k), "unknown property (xAPI 1.0.3 allows %s)", strings.Join(allowed, ", "))
		}
		if val == nil {
			return nil, p.fail(join(path, k), "must not be null (leave it out instead)")
		}
	}
	return m, nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func (p *parser) str(path string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", p.fail(path, "must be a string, not %s", jsonKind(v))
	}
	if len(s) > maxString {
		return "", p.fail(path, "longer than %d bytes", maxString)
	}
	return s, nil
}

func (p *parser) optStr(m map[string]any, path, k string) (string, error) {
	v, ok := m[k]
	if !ok {
		return "", nil
	}
	return p.str(join(path, k), v)
}

// iri checks an absolute IRI (a scheme, then something).
func (p *parser) iri(path string, v any) (string, error) {
	s, err := p.str(path, v)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", p.fail(path, "must be an IRI, not empty")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") || strings.ContainsAny(s, " \t\r\n") {
		return "", p.fail(path, "%q is not an absolute IRI", clip(s))
	}
	return s, nil
}

func (p *parser) boolean(path string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, p.fail(path, "must be true or false, not %s", jsonKind(v))
	}
	return b, nil
}

func (p *parser) number(path string, v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, p.fail(path, "must be a number, not %s", jsonKind(v))
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, p.fail(path, "%s is not a usable number", clip(n.String()))
	}
	return f, nil
}

// langMap checks a language map and returns the value to show: French
// first, then English, then the first tag in order.
func (p *parser) langMap(path string, v any) (string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", p.fail(path, "must be a language map (an object of language tag to string), not %s", jsonKind(v))
	}
	tags := make([]string, 0, len(m))
	for tag, s := range m {
		if !languageTag.MatchString(tag) {
			return "", p.fail(join(path, tag), "%q is not a language tag (RFC 5646)", clip(tag))
		}
		if _, err := p.str(join(path, tag), s); err != nil {
			return "", err
		}
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	for _, want := range []string{"fr", "fr-FR", "en", "en-US", "en-GB"} {
		if s, ok := m[want].(string); ok {
			return s, nil
		}
	}
	if len(tags) == 0 {
		return "", nil
	}
	return m[tags[0]].(string), nil
}

var (
	languageTag = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)
	uuidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// IsUUID reports whether s has the form of a UUID, as statement ids must.
func IsUUID(s string) bool { return uuidRE.MatchString(s) }

// extensions checks an extensions object: keys are IRIs, values any JSON.
func (p *parser) extensions(path string, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p.fail(path, "must be an object of IRI to value, not %s", jsonKind(v))
	}
	for k := range m {
		if _, err := p.iri(join(path, k), k); err != nil {
			return nil, p.fail(path, "key %q is not an absolute IRI", clip(k))
		}
	}
	return m, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "…"
	}
	return s
}

var statementKeys = []string{"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version", "attachments"}

func (p *parser) statement(v any) (Statement, error) {
	m, err := p.object("", v, statementKeys...)
	if err != nil {
		return Statement{}, err
	}
	var st Statement
	c := &st.Completion
	c.Source = "xapi"

	if id, ok := m["id"]; ok {
		s, err := p.str("id", id)
		if err != nil {
			return st, err
		}
		if !IsUUID(s) {
			return st, p.fail("id", "%q is not a UUID", clip(s))
		}
		st.ID = strings.ToLower(s)
	} else {
		if p.opts.NewID == nil {
			return st, p.fail("id", "missing")
		}
		st.ID = p.opts.NewID()
	}
	m["id"] = st.ID
	c.SourceRef = st.ID

	if ver, ok := m["version"]; ok {
		s, err := p.str("version", ver)
		if err != nil {
			return st, err
		}
		if !strings.HasPrefix(s, "1.0.") && s != "1.0" {
			return st, p.fail("version", "%q is not a 1.0.x version", clip(s))
		}
	}
	if _, ok := m["attachments"]; ok {
		return st, p.fail("attachments", "attachments are not accepted: a completion needs none")
	}
	if a, ok := m["authority"]; ok {
		// The LRS sets the authority; a statement may carry one (an
		// Agent or a Group), which is checked for shape only.
		if _, ok := a.(map[string]any); !ok {
			return st, p.fail("authority", "must be an object, not %s", jsonKind(a))
		}
	}
	if s, ok := m["stored"]; ok {
		if _, err := p.timestamp("stored", s); err != nil {
			return st, err
		}
	}

	// actor
	a, ok := m["actor"]
	if !ok {
		return st, p.fail("actor", "missing: who completed? (an Agent with mbox or account)")
	}
	if err := p.actor(a, &c.Learner); err != nil {
		return st, err
	}

	// verb
	vb, ok := m["verb"]
	if !ok {
		return st, p.fail("verb", "missing")
	}
	verb, err := p.verb(vb)
	if err != nil {
		return st, err
	}

	// object
	ob, ok := m["object"]
	if !ok {
		return st, p.fail("object", "missing: what was completed? (an Activity)")
	}
	objExt, err := p.activity("object", ob, &c.Activity, true)
	if err != nil {
		return st, err
	}

	// result
	var success, completed *bool
	if r, ok := m["result"]; ok {
		success, completed, err = p.result(r, c)
		if err != nil {
			return st, err
		}
	}

	// context
	var ctxExt map[string]any
	if cx, ok := m["context"]; ok {
		ctxExt, err = p.context(cx, &c.Activity)
		if err != nil {
			return st, err
		}
	}

	// timestamp
	if ts, ok := m["timestamp"]; ok {
		t, err := p.timestamp("timestamp", ts)
		if err != nil {
			return st, err
		}
		c.At = t.UTC()
		if c.At.Year() < 2000 || c.At.After(p.opts.Now.Add(24*time.Hour)) {
			return st, p.fail("timestamp", "%s is not a plausible completion date", clip(t.Format(time.RFC3339)))
		}
	} else {
		c.At = p.opts.Now.UTC()
	}

	// What the verb and the result say together.
	switch verb {
	case VerbCompleted:
		if completed != nil && !*completed {
			return st, p.fail("result.completion", "false contradicts the verb completed")
		}
		c.Completed = true
		c.Passed = success
	case VerbPassed:
		if success != nil && !*success {
			return st, p.fail("result.success", "false contradicts the verb passed")
		}
		c.Completed = completed == nil || *completed
		t := true
		c.Passed = &t
	case VerbFailed:
		if success != nil && *success {
			return st, p.fail("result.success", "true contradicts the verb failed")
		}
		// Failing is recorded as not passed; it completes only when the
		// result says so.
		c.Completed = completed != nil && *completed
		f := false
		c.Passed = &f
	}

	// Extensions under the service's base.
	if err := p.insigneExtensions(objExt, ctxExt, c); err != nil {
		return st, err
	}
	if c.Learner.Email == "" {
		return st, p.fail("actor.account", "names the LMS account %q of %s but no e-mail address, and Insigne awards badges to an address: send actor.mbox (logstore_xapi: send the learner's e-mail) or the context extension %s",
			clip(c.Learner.AccountName), clip(c.Learner.AccountHomePage), ExtensionIRI(p.opts.Base, ExtEmail))
	}

	st.JSON, err = json.Marshal(m)
	if err != nil {
		return st, p.fail("", "cannot be encoded: %v", err)
	}
	st.Hash = hashWithout(m, st.JSON, "stored", "authority", "version")
	return st, nil
}

// hashWithout hashes the canonical JSON of m without the given keys (the
// properties that may differ between two sendings of one statement);
// encoded is m's canonical JSON, hashed as is when m has none of them.
func hashWithout(m map[string]any, encoded []byte, drop ...string) string {
	b := encoded
	if slices.ContainsFunc(drop, func(k string) bool { _, ok := m[k]; return ok }) {
		c := make(map[string]any, len(m))
		for k, v := range m {
			if !slices.Contains(drop, k) {
				c[k] = v
			}
		}
		b, _ = json.Marshal(c) // already encoded once: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (p *parser) timestamp(path string, v any) (time.Time, error) {
	s, err := p.str(path, v)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, p.fail(path, "%q is not an ISO 8601 date and time with a time zone (e.g. 2026-11-29T14:05:00+01:00)", clip(s))
	}
	return t, nil
}

var agentKeys = []string{"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}

func (p *parser) actor(v any, l *completion.Learner) error {
	m, err := p.object("actor", v, append(slices.Clone(agentKeys), "member")...)
	if err != nil {
		return err
	}
	if ot, ok := m["objectType"]; ok {
		s, err := p.str("actor.objectType", ot)
		if err != nil {
			return err
		}
		switch s {
		case "Agent":
		case "Group":
			return p.fail("actor.objectType", "a Group cannot hold a badge: send one statement per learner")
		default:
			return p.fail("actor.objectType", "%q is not an actor type (Agent)", clip(s))
		}
	}
	if _, ok := m["member"]; ok {
		return p.fail("actor.member", "only a Group has members; send one statement per learner")
	}
	if l.Name, err = p.optStr(m, "actor", "name"); err != nil {
		return err
	}
	if err := p.text("actor.name", l.Name, 200); err != nil {
		return err
	}
	var ifis []string
	for _, k := range []string{"mbox", "mbox_sha1sum", "openid", "account"} {
		if _, ok := m[k]; ok {
			ifis = append(ifis, k)
		}
	}
	switch len(ifis) {
	case 0:
		return p.fail("actor", "no identifier: an Agent needs exactly one of mbox or account")
	case 1:
	default:
		return p.fail("actor", "has %s: an Agent has exactly one identifier", strings.Join(ifis, " and "))
	}
	switch ifis[0] {
	case "mbox":
		s, err := p.str("actor.mbox", m["mbox"])
		if err != nil {
			return err
		}
		addr, ok := strings.CutPrefix(s, "mailto:")
		if !ok || !plausibleEmail(addr) {
			return p.fail("actor.mbox", "%q is not a mailto: IRI of an e-mail address", clip(s))
		}
		l.Email = strings.ToLower(strings.TrimSpace(addr))
	case "mbox_sha1sum":
		return p.fail("actor.mbox_sha1sum", "hides the learner's e-mail address, and Insigne needs the address to award a badge: send actor.mbox (mailto:) or actor.account with the e-mail extension")
	case "openid":
		return p.fail("actor.openid", "Insigne needs the learner's e-mail address to award a badge: send actor.mbox (mailto:) or actor.account")
	case "account":
		am, err := p.object("actor.account", m["account"], "homePage", "name")
		if err != nil {
			return err
		}
		hp, ok := am["homePage"]
		if !ok {
			return p.fail("actor.account.homePage", "missing: the LMS the account belongs to")
		}
		if l.AccountHomePage, err = p.iri("actor.account.homePage", hp); err != nil {
			return err
		}
		if err := p.text("actor.account.homePage", l.AccountHomePage, 500); err != nil {
			return err
		}
		n, ok := am["name"]
		if !ok {
			return p.fail("actor.account.name", "missing: the learner's account on the LMS")
		}
		if l.AccountName, err = p.str("actor.account.name", n); err != nil {
			return err
		}
		if l.AccountName == "" {
			return p.fail("actor.account.name", "must not be empty")
		}
		if err := p.text("actor.account.name", l.AccountName, 200); err != nil {
			return err
		}
		// Sites that send the username often use the e-mail address as
		// username.
		if plausibleEmail(l.AccountName) {
			l.Email = strings.ToLower(l.AccountName)
		}
	}
	return nil
}

func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>,;\"") || !strings.Contains(s[at:], ".") || len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// text checks a value Insigne keeps (a name, an identifier): at most max
// characters, no control characters, as the completion service requires.
func (p *parser) text(path, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return p.fail(path, "longer than %d characters", max)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return p.fail(path, "holds control characters")
	}
	return nil
}

func (p *parser) verb(v any) (string, error) {
	m, err := p.object("verb", v, "id", "display")
	if err != nil {
		return "", err
	}
	idv, ok := m["id"]
	if !ok {
		return "", p.fail("verb.id", "missing")
	}
	id, err := p.iri("verb.id", idv)
	if err != nil {
		return "", err
	}
	if d, ok := m["display"]; ok {
		if _, err := p.langMap("verb.display", d); err != nil {
			return "", err
		}
	}
	switch id {
	case VerbCompleted, verbTinCanCompleted:
		return VerbCompleted, nil
	case VerbPassed, VerbFailed:
		return id, nil
	}
	return "", p.fail("verb.id", "the verb %q is not one Insigne records: send %s, %s or %s", clip(id), VerbCompleted, VerbPassed, VerbFailed)
}

var definitionKeys = []string{"name", "description", "type", "moreInfo", "extensions", "interactionType",
	"correctResponsesPattern", "choices", "scale", "source", "target", "steps"}

// activity checks an Activity; for the statement's object it fills a and
// returns the definition's extensions.
func (p *parser) activity(path string, v any, a *completion.Activity, isObject bool) (map[string]any, error) {
	m, err := p.object(path, v, "objectType", "id", "definition")
	if err != nil {
		if mm, ok := v.(map[string]any); ok && isObject {
			if ot, _ := mm["objectType"].(string); ot != "" && ot != "Activity" {
				return nil, p.fail(path+".objectType", "%q: Insigne records activities only (a course or a module)", clip(ot))
			}
		}
		return nil, err
	}
	if ot, ok := m["objectType"]; ok {
		s, err := p.str(path+".objectType", ot)
		if err != nil {
			return nil, err
		}
		if s != "Activity" {
			return nil, p.fail(path+".objectType", "%q: Insigne records activities only (a course or a module)", clip(s))
		}
	}
	idv, ok := m["id"]
	if !ok {
		return nil, p.fail(path+".id", "missing: the activity's IRI")
	}
	id, err := p.iri(path+".id", idv)
	if err != nil {
		return nil, err
	}
	var typ, name string
	var ext map[string]any
	if d, ok := m["definition"]; ok {
		dm, err := p.object(path+".definition", d, definitionKeys...)
		if err != nil {
			return nil, err
		}
		if n, ok := dm["name"]; ok {
			if name, err = p.langMap(path+".definition.name", n); err != nil {
				return nil, err
			}
		}
		if n, ok := dm["description"]; ok {
			if _, err = p.langMap(path+".definition.description", n); err != nil {
				return nil, err
			}
		}
		if t, ok := dm["type"]; ok {
			if typ, err = p.iri(path+".definition.type", t); err != nil {
				return nil, err
			}
		}
		if mi, ok := dm["moreInfo"]; ok {
			if _, err = p.iri(path+".definition.moreInfo", mi); err != nil {
				return nil, err
			}
		}
		if e, ok := dm["extensions"]; ok {
			if ext, err = p.extensions(path+".definition.extensions", e); err != nil {
				return nil, err
			}
		}
	}
	if a == nil {
		return ext, nil
	}
	if isObject {
		if err := p.text(path+".id", id, 2000); err != nil {
			return nil, err
		}
		if err := p.text(path+".definition.name", name, 500); err != nil {
			return nil, err
		}
		a.ID, a.Name = id, name
		switch {
		case isCourse(typ, id):
			a.MoodleCourseID = moodleID(id, "/course/view.php")
		case isModule(typ, id):
			a.MoodleModuleID = moodleModuleID(id)
		}
		return ext, nil
	}
	// A context activity: the course a module belongs to.
	if a.MoodleCourseID == "" && isCourse(typ, id) {
		a.MoodleCourseID = moodleID(id, "/course/view.php")
	}
	return ext, nil
}

func isCourse(typ, id string) bool {
	switch typ {
	case TypeCourse, typeADLCourse, typeTinCanCourse:
		return true
	case "":
		return moodleID(id, "/course/view.php") != ""
	}
	return false
}

func isModule(typ, id string) bool {
	switch typ {
	case TypeModule, typeADLModule:
		return true
	case "":
		return moodleModuleID(id) != ""
	}
	return false
}

// moodleID returns the id query parameter of a Moodle URL whose path ends
// with suffix ({wwwroot}/course/view.php?id=42 gives "42").
func moodleID(iri, suffix string) string {
	u, err := url.Parse(iri)
	if err != nil || !strings.HasSuffix(u.Path, suffix) {
		return ""
	}
	id := u.Query().Get("id")
	if n, err := strconv.ParseUint(id, 10, 63); err != nil || n == 0 {
		return ""
	}
	return id
}

// moodleModuleID returns the cmid of {wwwroot}/mod/{name}/view.php?id=N.
func moodleModuleID(iri string) string {
	u, err := url.Parse(iri)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Path, "/")
	if len(parts) < 4 || parts[len(parts)-3] != "mod" || parts[len(parts)-1] != "view.php" {
		return ""
	}
	return moodleID(iri, "/view.php")
}

func (p *parser) result(v any, c *completion.Completion) (success, completed *bool, err error) {
	m, err := p.object("result", v, "score", "success", "completion", "response", "duration", "extensions")
	if err != nil {
		return nil, nil, err
	}
	if s, ok := m["success"]; ok {
		b, err := p.boolean("result.success", s)
		if err != nil {
			return nil, nil, err
		}
		success = &b
	}
	if s, ok := m["completion"]; ok {
		b, err := p.boolean("result.completion", s)
		if err != nil {
			return nil, nil, err
		}
		completed = &b
	}
	if _, err := p.optStr(m, "result", "response"); err != nil {
		return nil, nil, err
	}
	if d, ok := m["duration"]; ok {
		s, err := p.str("result.duration", d)
		if err != nil {
			return nil, nil, err
		}
		if c.Duration, err = ParseDuration(s); err != nil {
			return nil, nil, p.fail("result.duration", "%v", err)
		}
		if c.Duration > 366*24*time.Hour {
			return nil, nil, p.fail("result.duration", "%s is more than a year", clip(s))
		}
	}
	if e, ok := m["extensions"]; ok {
		if _, err := p.extensions("result.extensions", e); err != nil {
			return nil, nil, err
		}
	}
	if s, ok := m["score"]; ok {
		sc, err := p.score(s)
		if err != nil {
			return nil, nil, err
		}
		c.Score = sc
	}
	return success, completed, nil
}

// score checks result.score and returns the scaled score in [0, 1]: the
// given scaled score (a negative one counts as 0), or one computed from
// raw, min and max.
func (p *parser) score(v any) (*float64, error) {
	m, err := p.object("result.score", v, "scaled", "raw", "min", "max")
	if err != nil {
		return nil, err
	}
	get := func(k string) (float64, bool, error) {
		x, ok := m[k]
		if !ok {
			return 0, false, nil
		}
		f, err := p.number("result.score."+k, x)
		return f, true, err
	}
	scaled, hasScaled, err := get("scaled")
	if err != nil {
		return nil, err
	}
	raw, hasRaw, err := get("raw")
	if err != nil {
		return nil, err
	}
	lo, hasMin, err := get("min")
	if err != nil {
		return nil, err
	}
	hi, hasMax, err := get("max")
	if err != nil {
		return nil, err
	}
	if hasScaled && (scaled < -1 || scaled > 1) {
		return nil, p.fail("result.score.scaled", "%v is outside [-1, 1]", scaled)
	}
	if hasMin && hasMax && hi <= lo {
		return nil, p.fail("result.score.max", "%v is not above min %v", hi, lo)
	}
	if hasRaw && ((hasMin && raw < lo) || (hasMax && raw > hi)) {
		return nil, p.fail("result.score.raw", "%v is outside [min, max]", raw)
	}
	switch {
	case hasScaled:
	case hasRaw && hasMax:
		scaled = (raw - lo) / (hi - lo)
	default:
		return nil, nil
	}
	scaled = max(0, scaled)
	return &scaled, nil
}

var contextKeys = []string{"registration", "instructor", "team", "contextActivities", "revision", "platform", "language", "statement", "extensions"}

func (p *parser) context(v any, a *completion.Activity) (map[string]any, error) {
	m, err := p.object("context", v, contextKeys...)
	if err != nil {
		return nil, err
	}
	if r, ok := m["registration"]; ok {
		s, err := p.str("context.registration", r)
		if err != nil {
			return nil, err
		}
		if !IsUUID(s) {
			return nil, p.fail("context.registration", "%q is not a UUID", clip(s))
		}
	}
	for _, k := range []string{"revision", "platform", "language"} {
		if _, err := p.optStr(m, "context", k); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"instructor", "team", "statement"} {
		if x, ok := m[k]; ok {
			if _, ok := x.(map[string]any); !ok {
				return nil, p.fail("context."+k, "must be an object, not %s", jsonKind(x))
			}
		}
	}
	if ca, ok := m["contextActivities"]; ok {
		cm, err := p.object("context.contextActivities", ca, "parent", "grouping", "category", "other")
		if err != nil {
			return nil, err
		}
		// parent first: it is the nearer one.
		for _, k := range []string{"parent", "grouping", "category", "other"} {
			x, ok := cm[k]
			if !ok {
				continue
			}
			list, isList := x.([]any)
			if !isList {
				list = []any{x} // a single activity is allowed too
			}
			for i, act := range list {
				path := fmt.Sprintf("context.contextActivities.%s[%d]", k, i)
				if !isList {
					path = "context.contextActivities." + k
				}
				target := a
				if k == "category" || k == "other" {
					target = nil
				}
				if _, err := p.activity(path, act, target, false); err != nil {
					return nil, err
				}
			}
		}
	}
	if e, ok := m["extensions"]; ok {
		return p.extensions("context.extensions", e)
	}
	return nil, nil
}

// insigneExtensions reads the extensions under the service's base.
func (p *parser) insigneExtensions(objExt, ctxExt map[string]any, c *completion.Completion) error {
	get := func(name string, learner bool) (string, error) {
		iri := ExtensionIRI(p.opts.Base, name)
		sources := []struct {
			path string
			m    map[string]any
		}{{"context.extensions", ctxExt}}
		if !learner {
			sources = append([]struct {
				path string
				m    map[string]any
			}{{"object.definition.extensions", objExt}}, sources...)
		}
		for _, src := range sources {
			v, ok := src.m[iri]
			if !ok {
				continue
			}
			switch t := v.(type) {
			case string:
				t = strings.TrimSpace(t)
				max := 100
				if name == ExtMatricule || name == ExtCourseShortName || name == ExtEmail {
					max = 254
				}
				if utf8.RuneCountInString(t) > max || strings.ContainsFunc(t, unicode.IsControl) {
					return "", p.fail(src.path, "%s: more than %d characters, or control characters", iri, max)
				}
				return t, nil
			case json.Number:
				return t.String(), nil
			}
			return "", p.fail(src.path, "%s: must be a string, not %s", iri, jsonKind(v))
		}
		return "", nil
	}
	type field struct {
		name    string
		learner bool
		dst     *string
	}
	email := ""
	for _, f := range []field{
		{ExtEmail, true, &email},
		{ExtAcademie, true, &c.Learner.Academie},
		{ExtDepartement, true, &c.Learner.Departement},
		{ExtDiscipline, true, &c.Learner.Discipline},
		{ExtGAIADispositif, false, &c.Activity.GAIADispositif},
		{ExtGAIAModule, false, &c.Activity.GAIAModule},
		{ExtGAIASession, false, &c.Activity.GAIASession},
		{ExtMatricule, false, &c.Activity.Matricule},
		{ExtCourseShortName, false, &c.Activity.CourseShortName},
	} {
		v, err := get(f.name, f.learner)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	if email != "" {
		if !plausibleEmail(email) {
			return p.fail("context.extensions", "%s: %q is not an e-mail address", ExtensionIRI(p.opts.Base, ExtEmail), clip(email))
		}
		if c.Learner.Email != "" && !strings.EqualFold(c.Learner.Email, email) && c.Learner.AccountName == "" {
			return p.fail("context.extensions", "%s: %q differs from actor.mbox", ExtensionIRI(p.opts.Base, ExtEmail), clip(email))
		}
		c.Learner.Email = strings.ToLower(email)
	}
	return nil
}

// ParseDuration reads an ISO 8601 duration (PnYnMnWnDTnHnMnS). Years
// and months are counted as 365 and 30 days: a time spent, not a date.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not an ISO 8601 duration (e.g. PT1H30M)", clip(s))
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, bad
	}
	var total float64
	inTime, seen := false, false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return 0, bad
			}
			inTime = true
			rest = rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, bad
		}
		n, err := strconv.ParseFloat(strings.Replace(rest[:i], ",", ".", 1), 64)
		if err != nil {
			return 0, bad
		}
		var unit float64
		switch u := rest[i]; {
		case !inTime && u == 'Y':
			unit = 365 * 24 * 3600
		case !inTime && u == 'M':
			unit = 30 * 24 * 3600
		case !inTime && u == 'W':
			unit = 7 * 24 * 3600
		case !inTime && u == 'D':
			unit = 24 * 3600
		case inTime && u == 'H':
			unit = 3600
		case inTime && u == 'M':
			unit = 60
		case inTime && u == 'S':
			unit = 1
		default:
			return 0, bad
		}
		total += n * unit
		seen = true
		rest = rest[i+1:]
	}
	if !seen || total > 100*365*24*3600 {
		return 0, bad
	}
	return time.Duration(total * float64(time.Second)), nil
}
