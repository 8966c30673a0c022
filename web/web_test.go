package web

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestCataloguesHoldTheSameKeys(t *testing.T) {
	fr, en := map[string]bool{}, map[string]bool{}
	for _, k := range Keys("fr") {
		fr[k] = true
	}
	for _, k := range Keys("en") {
		en[k] = true
		if !fr[k] {
			t.Errorf("%q is in English only", k)
		}
	}
	for k := range fr {
		if !en[k] {
			t.Errorf("%q is in French only", k)
		}
	}
}

// Every key a template asks for is translated in both languages; keys
// built at run time (t (print "status." .State)) are checked for the
// values the code gives them.
func TestTemplateKeysAreTranslated(t *testing.T) {
	keyRE := regexp.MustCompile(`\bt "([a-z0-9_.]+)"`)
	dynamic := map[string][]string{
		"status.":       {"active", "revoked", "suspended", "expired"},
		"role.":         {"admin", "trainer", "root"},
		"job.state.":    {"queued", "running", "done", "failed"},
		"scope.":        {"awards:write", "credentials:read", "credentials:revoke", "issuers:admin"},
		"type.":         {"Badge", "Competency", "Course", "CertificateOfCompletion", "MicroCredential", "LearningProgram", "Achievement"},
		"verdict.":      {"valid", "warnings", "invalid", ""},
		"sharing.kind.": {"credential", "collection"},
		"rules.kind.":   {"xapi", "moodle-course", "course-shortname", "moodle-module", "gaia-dispositif", "gaia-module", "gaia-session", "matricule"},
	}
	var keys []string
	fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(templateFS, path)
		for _, m := range keyRE.FindAllSubmatch(b, -1) {
			keys = append(keys, string(m[1]))
		}
		for prefix, values := range dynamic {
			if bytes.Contains(b, []byte(`print "`+prefix+`"`)) {
				for _, v := range values {
					keys = append(keys, prefix+v)
				}
			}
		}
		return nil
	})
	if len(keys) < 100 {
		t.Fatalf("found only %d keys in the templates", len(keys))
	}
	for _, k := range keys {
		for _, lang := range Languages {
			if !HasMessage(lang, k) {
				t.Errorf("%q is not translated into %s", k, lang)
			}
		}
	}
}

func TestLang(t *testing.T) {
	for _, c := range []struct{ query, cookie, accept, want string }{
		{"", "", "", "fr"},
		{"en", "", "fr-FR", "en"},
		{"", "en", "fr-FR", "en"},
		{"de", "xx", "", "fr"},
		{"", "", "en-GB,en;q=0.9,fr;q=0.8", "en"},
		{"", "", "de-DE,fr;q=0.5,en;q=0.7", "en"},
		{"", "", "de-DE, fr;q=0.9, en;q=0.1", "fr"},
		{"", "", "en;q=0", "fr"},
		{"", "", ";;;,,q=,", "fr"},
	} {
		if got := Lang(c.query, c.cookie, c.accept); got != c.want {
			t.Errorf("Lang(%q, %q, %q) = %q, want %q", c.query, c.cookie, c.accept, got, c.want)
		}
	}
}

func TestEveryPageParsesAndErrorPageRenders(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if len(Pages()) < 15 {
		t.Fatalf("pages: %v", Pages())
	}
	for _, lang := range Languages {
		var b bytes.Buffer
		p := &Page{Lang: lang, OtherLang: "en", Title: T(lang, "error.404.title"), Data: map[string]any{"Status": 404, "Message": "<script>x</script>"}}
		if err := r.Render(&b, "error", p); err != nil {
			t.Fatal(err)
		}
		html := b.String()
		if !strings.Contains(html, `<html lang="`+lang+`">`) || !strings.Contains(html, T(lang, "layout.skip")) {
			t.Errorf("%s: layout missing the language or the skip link", lang)
		}
		if strings.Contains(html, "<script>x") || !strings.Contains(html, "&lt;script&gt;x") {
			t.Errorf("%s: data is not escaped", lang)
		}
		if strings.Contains(html, "<script>") || strings.Contains(html, " style=") {
			t.Errorf("%s: inline script or style, which the pages' CSP forbids", lang)
		}
	}
}

func BenchmarkRenderErrorPage(b *testing.B) {
	r, err := New()
	if err != nil {
		b.Fatal(err)
	}
	p := &Page{Lang: "fr", OtherLang: "en", Title: "x", User: &User{Name: "Ana"}, Data: map[string]any{"Status": 404, "Message": "m"}}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := r.Render(&buf, "error", p); err != nil {
			b.Fatal(err)
		}
	}
}

// A message is trusted text, but what goes into it is not.
func TestMessagesEscapeTheirArguments(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	p := &Page{Lang: "fr", OtherLang: "en", User: &User{Email: `<img src=x onerror=alert(1)>@example.org`}, Data: map[string]any{}}
	if err := r.Render(&b, "backpack", p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<img src=x") || !strings.Contains(b.String(), "&lt;img src=x onerror=alert(1)&gt;@example.org") {
		t.Errorf("the address is not escaped in the message:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "Les badges attribués à l'adresse") {
		t.Errorf("the message's apostrophe was escaped")
	}
}
