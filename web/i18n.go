package web

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Languages of the interface; the first is the default. French first:
// Insigne serves the French public service.
var Languages = []string{"fr", "en"}

// Lang picks the language of a page: an explicit choice (?lang=), then the
// remembered one (cookie), then the browser's Accept-Language, then French.
func Lang(query, cookie, acceptLanguage string) string {
	for _, v := range []string{query, cookie} {
		if known(v) {
			return v
		}
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for i, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if known(base) && q > 0 {
			prefs = append(prefs, pref{base, q - float64(i)*1e-6})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	if len(prefs) > 0 {
		return prefs[0].lang
	}
	return Languages[0]
}

func known(l string) bool {
	for _, k := range Languages {
		if l == k {
			return true
		}
	}
	return false
}

// T translates a message key into lang, formatting args into it when
// given. A missing key shows itself, so that a gap is seen, never hidden
// (and the tests look for gaps).
func T(lang, key string, args ...any) string {
	m, ok := catalogue[lang][key]
	if !ok {
		m, ok = catalogue[Languages[0]][key]
		if !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// HasMessage reports whether key is translated into lang.
func HasMessage(lang, key string) bool {
	_, ok := catalogue[lang][key]
	return ok
}

// Keys lists the keys of a language's catalogue.
func Keys(lang string) []string {
	var out []string
	for k := range catalogue[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
