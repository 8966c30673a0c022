// Package web holds Insigne's pages: html/template templates, their
// message catalogue in French and English, and the static assets (CSS,
// icons, a little JavaScript for progressive enhancement), all embedded in
// the binary. It knows no HTTP: package api decides who sees what and
// calls Render.
package web

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Assets are the static files, served under /assets/.
func Assets() fs.FS {
	sub, _ := fs.Sub(staticFS, "static")
	return sub
}

// Page is what every page's layout needs; Data is the page's own.
type Page struct {
	Lang, OtherLang string
	// SwitchURL is this page in the other language.
	SwitchURL string
	Title     string
	User      *User
	// CSRF is the masked token every form of a signed-in page carries.
	CSRF   string
	Nav    []Link
	Issuer *IssuerNav
	// Verify shows the link to the verify page.
	Verify     bool
	Flash      string
	Error      string
	ErrorField string
	Data       any
}

// User is who is signed in.
type User struct{ Name, Email string }

// Link is an entry of a navigation.
type Link struct {
	Href, Label, Text string
	Current           bool
}

// IssuerNav is the sub-navigation of the issuer pages.
type IssuerNav struct {
	Slug, Name, Role string
	Links            []Link
}

// Renderer renders the pages, one template set per page and language.
type Renderer struct {
	sets map[string]map[string]*template.Template // lang → page → template
}

// Pages lists the page templates.
func Pages() []string {
	entries, _ := fs.ReadDir(templateFS, "templates")
	var out []string
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name != "layout" {
			out = append(out, name)
		}
	}
	return out
}

// New parses every page in every language.
func New() (*Renderer, error) {
	r := &Renderer{sets: map[string]map[string]*template.Template{}}
	for _, lang := range Languages {
		r.sets[lang] = map[string]*template.Template{}
		for _, page := range Pages() {
			t, err := template.New("layout").Funcs(funcs(lang)).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
			if err != nil {
				return nil, fmt.Errorf("web: template %s: %w", page, err)
			}
			r.sets[lang][page] = t
		}
	}
	return r, nil
}

func funcs(lang string) template.FuncMap {
	return template.FuncMap{
		// Messages are our own text, trusted as HTML (so that French
		// apostrophes stay apostrophes in the source); what is put into
		// them is escaped.
		"t": func(key string, args ...any) template.HTML {
			for i, a := range args {
				if s, ok := a.(string); ok {
					args[i] = template.HTMLEscapeString(s)
				}
			}
			return template.HTML(T(lang, key, args...))
		},
	}
}

// Render writes page p with the layout.
func (r *Renderer) Render(w io.Writer, page string, p *Page) error {
	set, ok := r.sets[p.Lang]
	if !ok {
		set = r.sets[Languages[0]]
	}
	t, ok := set[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	return t.ExecuteTemplate(w, "layout", p)
}
