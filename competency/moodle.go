package competency

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Moodle competency framework CSV, as written by Moodle's
// admin/tool/lpimportcsv framework_exporter.php and read by its
// framework_importer.php: a header, one framework row (Is framework = 1)
// and one row per competency naming its parent by idnumber. Moodle reads the
// columns by position, so the header text is not checked (a French Moodle
// writes French headers).
//
// The mapping:
//
//	ID number        item HumanCodingScheme (or its identifier when it has no usable code); framework: its identifier
//	Short name       AbbreviatedStatement, or FullStatement cut to 100 characters
//	Description      HTML: <p><em>Notes</em></p><p>FullStatement</p>; framework: <p>Title</p><p>Description paragraph</p>…
//	Exported ID      the item identifier
//	Cross-referenced isRelatedTo associations between items
//
// Cells that Insigne would not write the same way (Moodle's numeric export
// ids, descriptions edited in Moodle, scales, rules…) are kept verbatim in
// Framework.Moodle and Item.Moodle, so that a file exported by Moodle comes
// back out unchanged. What a CSV cannot carry (creator, dates, item types,
// list enumerations, alternative labels, association identifiers other than
// derived ones) is lost on the way through it.

var moodleHeader = [numColumns]string{
	"Parent ID number", "ID number", "Short name", "Description", "Description format",
	"Scale values", "Scale configuration", "Rule type (optional)", "Rule outcome (optional)",
	"Rule config (optional)", "Cross-referenced competency ID numbers", "Exported ID (optional)",
	"Is framework", "Taxonomy",
}

const (
	colParent = iota
	colIDNumber
	colShortName
	colDescription
	colDescriptionFormat
	colScaleValues
	colScaleConfiguration
	colRuleType
	colRuleOutcome
	colRuleConfig
	colRelated
	colExportID
	colIsFramework
	colTaxonomy
	numColumns
)

type moodleRow = [numColumns]string

const (
	// moodleMaxLen is where Moodle cuts idnumbers and short names.
	moodleMaxLen = 100

	ruleAll    = `core_competency\competency_rule_all`
	rulePoints = `core_competency\competency_rule_points`

	// A Moodle framework needs a scale. This one (default and proficient:
	// "Acquis") is what Insigne writes for frameworks that bring none.
	defaultScaleValues        = "Non acquis,Acquis"
	defaultScaleConfiguration = `[{"scaleid":"0"},{"id":2,"scaledefault":1,"proficient":1}]`

	formatHTML = "1"
)

var (
	descriptionFormats = []string{"", "0", "1", "2", "4"}
	taxonomyTerms      = []string{"behaviour", "competency", "concept", "domain", "indicator", "level", "outcome", "practice", "proficiency", "skill", "value"}
	utf8BOM            = []byte("\xef\xbb\xbf")
)

// ExportMoodleCSV returns f as a Moodle competency framework CSV, ready for
// Moodle's "Import competency framework". The framework's ID number is its
// identifier (unless it came from Moodle with an ID number of its own) and
// each item's Exported ID is its identifier, so that the file read back
// gives the same identifiers. After a trip through Moodle, which writes its
// own Exported IDs, the items whose identifiers derive from their codes (all
// those of the official frameworks) still get theirs back.
func ExportMoodleCSV(f Framework) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("competency: export Moodle CSV: %w", err)
	}
	var buf bytes.Buffer
	writeCSVRow(&buf, moodleHeader[:])
	for _, r := range moodleRows(f) {
		writeCSVRow(&buf, r[:])
	}
	return buf.Bytes(), nil
}

// writeCSVRow writes a row as PHP's fputcsv does, which Moodle uses: a field
// is quoted only when it holds a comma, quote, backslash, space, tab or line
// break. Unlike fputcsv, a quote after a backslash is doubled too, so that
// the file stays RFC 4180 CSV.
func writeCSVRow(b *bytes.Buffer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\\ \t\r\n") {
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(f, `"`, `""`))
			b.WriteByte('"')
		} else {
			b.WriteString(f)
		}
	}
	b.WriteByte('\n')
}

// moodleRows returns the framework row then one row per item, in document
// order, with the verbatim Moodle cells where f has them.
func moodleRows(f Framework) []moodleRow {
	ids := moodleIDNumbers(f)
	fw := moodleRow{
		colIDNumber:           f.Identifier,
		colShortName:          cut(f.Title, moodleMaxLen),
		colDescription:        frameworkHTML(f.Title, f.Description),
		colDescriptionFormat:  formatHTML,
		colScaleValues:        defaultScaleValues,
		colScaleConfiguration: defaultScaleConfiguration,
		colIsFramework:        "1",
		colTaxonomy:           defaultTaxonomy(f),
	}
	if m := f.Moodle; m != nil {
		setIf(&fw[colIDNumber], m.IDNumber)
		setIf(&fw[colShortName], m.ShortName)
		if m.Description != nil {
			fw[colDescription], fw[colDescriptionFormat] = m.Description.Text, m.Description.Format
		}
		setIf(&fw[colScaleValues], m.ScaleValues)
		setIf(&fw[colScaleConfiguration], m.ScaleConfiguration)
		if m.Taxonomy != nil {
			fw[colTaxonomy] = *m.Taxonomy
		}
	}
	rows := make([]moodleRow, 0, 1+len(f.Items))
	rows = append(rows, fw)

	related := relatedItems(f)
	for _, it := range f.Items {
		short := it.AbbreviatedStatement
		if strings.TrimSpace(short) == "" {
			short = it.FullStatement
		}
		var rel []string
		for _, o := range related[it.Identifier] {
			rel = append(rel, strings.ReplaceAll(ids[o], ",", "%2C"))
		}
		r := moodleRow{
			colParent:            ids[it.Parent],
			colIDNumber:          ids[it.Identifier],
			colShortName:         cut(short, moodleMaxLen),
			colDescription:       itemHTML(it.Notes, it.FullStatement),
			colDescriptionFormat: formatHTML,
			colRuleOutcome:       "0",
			colRuleConfig:        "null",
			colRelated:           strings.Join(rel, ","),
			colExportID:          it.Identifier,
		}
		if m := it.Moodle; m != nil {
			setIf(&r[colExportID], m.ExportID)
			if m.Description != nil {
				r[colDescription], r[colDescriptionFormat] = m.Description.Text, m.Description.Format
			}
			r[colScaleValues], r[colScaleConfiguration] = m.ScaleValues, m.ScaleConfiguration
			if m.Rule != nil {
				r[colRuleType], r[colRuleOutcome], r[colRuleConfig] = m.Rule.Type, m.Rule.Outcome, m.Rule.Config
			}
			if m.Related != nil {
				r[colRelated] = *m.Related
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// moodleIDNumbers gives each item its Moodle idnumber: its code when that is
// one Moodle keeps (at most 100 characters) and that names one item only,
// else its identifier.
func moodleIDNumbers(f Framework) map[string]string {
	count := make(map[string]int, len(f.Items))
	for _, it := range f.Items {
		count[it.HumanCodingScheme]++
		count[it.Identifier]++ // a code equal to an identifier would be ambiguous
	}
	ids := make(map[string]string, len(f.Items)+1)
	ids[""] = ""
	for _, it := range f.Items {
		c := it.HumanCodingScheme
		if strings.TrimSpace(c) != "" && count[c] == 1 && utf8.RuneCountInString(c) <= moodleMaxLen && !strings.Contains(c, "%2C") {
			ids[it.Identifier] = c
		} else {
			ids[it.Identifier] = it.Identifier
		}
	}
	return ids
}

// relatedItems lists, for each item, the items it is related to
// (isRelatedTo, either way) in document order: Moodle's cross-references are
// symmetric and it lists them on both competencies.
func relatedItems(f Framework) map[string][]string {
	index := make(map[string]int, len(f.Items))
	for i, it := range f.Items {
		index[it.Identifier] = i
	}
	rel := make(map[string][]string)
	for _, a := range f.Associations {
		_, ok1 := index[a.Origin.Identifier]
		_, ok2 := index[a.Destination.Identifier]
		if a.Type != IsRelatedTo || !ok1 || !ok2 {
			continue
		}
		rel[a.Origin.Identifier] = append(rel[a.Origin.Identifier], a.Destination.Identifier)
		rel[a.Destination.Identifier] = append(rel[a.Destination.Identifier], a.Origin.Identifier)
	}
	for id, l := range rel {
		slices.SortFunc(l, func(a, b string) int { return index[a] - index[b] })
		rel[id] = slices.Compact(l)
	}
	return rel
}

// defaultTaxonomy is one "competency" per level of the tree, as Moodle sets
// for a new framework.
func defaultTaxonomy(f Framework) string {
	parent := make(map[string]string, len(f.Items))
	for _, it := range f.Items {
		parent[it.Identifier] = it.Parent
	}
	depth := make(map[string]int, len(f.Items))
	maxDepth := 0
	for _, it := range f.Items {
		// Walk up to an item of known depth; Validate has ruled out cycles.
		var chain []string
		id := it.Identifier
		for id != "" && depth[id] == 0 {
			chain = append(chain, id)
			id = parent[id]
		}
		d := depth[id] // 0 for the top
		for i := len(chain) - 1; i >= 0; i-- {
			d++
			depth[chain[i]] = d
		}
		maxDepth = max(maxDepth, depth[it.Identifier])
	}
	return strings.TrimSuffix(strings.Repeat("competency,", maxDepth), ",")
}

// Descriptions. Text goes into HTML escaped for < > & only: that is what
// Moodle's editors write, so apostrophes and quotes stay readable.

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func itemHTML(notes, statement string) string {
	s := "<p>" + htmlEscaper.Replace(statement) + "</p>"
	if notes != "" {
		s = "<p><em>" + htmlEscaper.Replace(notes) + "</em></p>" + s
	}
	return s
}

// parseItemHTML inverts itemHTML, reporting false for any other HTML.
func parseItemHTML(s string) (notes, statement string, ok bool) {
	rest := s
	if r, found := strings.CutPrefix(rest, "<p><em>"); found {
		n, after, found := strings.Cut(r, "</em></p>")
		if !found {
			return "", "", false
		}
		notes, rest = html.UnescapeString(n), after
	}
	inner, ok := cutTags(rest, "<p>", "</p>")
	if !ok {
		return "", "", false
	}
	statement = html.UnescapeString(inner)
	if strings.TrimSpace(statement) == "" || itemHTML(notes, statement) != s {
		return "", "", false
	}
	return notes, statement, true
}

func frameworkHTML(title, description string) string {
	s := "<p>" + htmlEscaper.Replace(title) + "</p>"
	if description != "" {
		for p := range strings.SplitSeq(description, "\n\n") {
			s += "<p>" + htmlEscaper.Replace(p) + "</p>"
		}
	}
	return s
}

// parseFrameworkHTML inverts frameworkHTML.
func parseFrameworkHTML(s string) (title, description string, ok bool) {
	inner, ok := cutTags(s, "<p>", "</p>")
	if !ok {
		return "", "", false
	}
	parts := strings.Split(inner, "</p><p>")
	for i := range parts {
		parts[i] = html.UnescapeString(parts[i])
	}
	title, description = parts[0], strings.Join(parts[1:], "\n\n")
	if strings.TrimSpace(title) == "" || frameworkHTML(title, description) != s {
		return "", "", false
	}
	return title, description, true
}

// cutTags returns s without its opening and closing tags, if it has both.
func cutTags(s, opening, closing string) (string, bool) {
	inner, ok1 := strings.CutPrefix(s, opening)
	inner, ok2 := strings.CutSuffix(inner, closing)
	return inner, ok1 && ok2
}

// blockTags end a line of text when HTML is flattened.
var blockTags = []string{"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "table", "blockquote", "hr"}

// plainText flattens a Moodle description into one line of text: tags are
// dropped (block tags leave a space), entities decoded, white space
// collapsed. It is used only to give an item a statement when its
// description is not in the form Insigne writes; the description itself is
// kept verbatim.
func plainText(s, format string) string {
	if format == "2" || format == "4" { // plain text, Markdown
		return strings.Join(strings.Fields(s), " ")
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break // an unclosed tag: drop the rest, as a browser would
		}
		name := strings.TrimLeft(s[i+1:i+j], "/")
		if k := strings.IndexAny(name, " \t\r\n/"); k >= 0 {
			name = name[:k]
		}
		if slices.Contains(blockTags, strings.ToLower(name)) {
			b.WriteByte(' ')
		}
		s = s[i+j+1:]
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

// cut shortens s to at most n characters for a Moodle short name, at a word
// boundary when one is near, marking the cut with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	for i := len(r) - 1; i > 0 && i >= len(r)-30; i-- {
		if unicode.IsSpace(r[i]) {
			r = r[:i]
			break
		}
	}
	return strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
}

// ImportMoodleCSV reads a Moodle competency framework CSV. It refuses input
// over MaxImportBytes or with more than MaxItems competencies (wrapping
// ErrTooLarge), a file without exactly one framework row, rows without the
// 14 columns, missing or duplicate ID numbers, ID numbers or short names
// longer than Moodle keeps, parents and cross-references that name no
// competency, parent loops, and malformed scales, taxonomies and rules.
// Errors name the line.
//
// Identifiers: the framework's is its ID number when that is a UUID (as
// Insigne exports it), else DocumentID(ID number); an item's is its Exported
// ID when that is a UUID, else ItemID(framework, ID number). Reading the same
// file twice gives the same identifiers.
func ImportMoodleCSV(data []byte) (Framework, error) {
	if len(data) > MaxImportBytes {
		return Framework{}, tooLarge("file", "%d bytes, more than %d", len(data), MaxImportBytes)
	}
	rows, lines, err := readMoodleCSV(bytes.TrimPrefix(data, utf8BOM))
	if err != nil {
		return Framework{}, err
	}
	at := func(i int) string { return fmt.Sprintf("line %d", lines[i]) }

	// The framework row.
	fwRow := -1
	var comps []int // indexes of the competency rows
	for i, r := range rows {
		switch r[colIsFramework] {
		case "1":
			if fwRow >= 0 {
				return Framework{}, inputErr(at(i), "a second framework row (Is framework = 1); the first is on %s", at(fwRow))
			}
			fwRow = i
		case "", "0":
			comps = append(comps, i)
		default:
			return Framework{}, inputErr(at(i), "Is framework is %q, want 1 or empty", r[colIsFramework])
		}
	}
	if fwRow < 0 {
		return Framework{}, inputErr("file", "no framework row (Is framework = 1)")
	}
	if len(comps) > MaxItems {
		return Framework{}, tooLarge(at(comps[MaxItems]), "more than %d competencies", MaxItems)
	}
	fr := rows[fwRow]
	if err := checkFrameworkRow(fr); err != nil {
		return Framework{}, inputErrAt(at(fwRow), err)
	}

	f := Framework{Identifier: fr[colIDNumber]}
	if !isUUID(f.Identifier) {
		f.Identifier = DocumentID(fr[colIDNumber])
	}
	if t, d, ok := parseFrameworkHTML(fr[colDescription]); ok && fr[colDescriptionFormat] == formatHTML {
		f.Title, f.Description = t, d
	} else {
		f.Title, f.Description = fr[colShortName], plainText(fr[colDescription], fr[colDescriptionFormat])
	}

	// Competency rows: identifiers first, since parents and rules refer to
	// rows further down.
	byIDNumber := make(map[string]int, len(comps)) // idnumber → row
	byExportID := make(map[string]int)             // Exported ID cell → row
	byIdentifier := make(map[string]int, len(comps))
	ident := make(map[int]string, len(comps))
	for _, i := range comps {
		r := rows[i]
		if err := checkCompetencyRow(r); err != nil {
			return Framework{}, inputErrAt(at(i), err)
		}
		if strings.Contains(r[colIDNumber], "%2C") {
			// Moodle writes a comma in a cross-reference as %2C, so an ID
			// number holding %2C could not be referred to.
			return Framework{}, inputErr(at(i), "ID number %q holds %%2C, which Moodle reads as a comma in cross-references", r[colIDNumber])
		}
		if prev, dup := byIDNumber[r[colIDNumber]]; dup {
			return Framework{}, inputErr(at(i), "ID number %q is also on %s", r[colIDNumber], at(prev))
		}
		byIDNumber[r[colIDNumber]] = i
		if e := r[colExportID]; e != "" {
			if prev, dup := byExportID[e]; dup {
				return Framework{}, inputErr(at(i), "Exported ID %q is also on %s", e, at(prev))
			}
			byExportID[e] = i
		}
		id := r[colExportID]
		if !isUUID(id) {
			id = ItemID(f.Identifier, r[colIDNumber])
		}
		if prev, dup := byIdentifier[id]; dup {
			return Framework{}, inputErr(at(i), "identifier %s is also the identifier of the competency on %s", id, at(prev))
		}
		if id == f.Identifier {
			return Framework{}, inputErr(at(i), "identifier %s is the framework's", id)
		}
		byIdentifier[id] = i
		ident[i] = id
	}
	for _, i := range comps {
		// An ID number that is another competency's identifier would be
		// exported as that identifier's row.
		if j, ok := byIdentifier[rows[i][colIDNumber]]; ok && j != i {
			return Framework{}, inputErr(at(i), "ID number %q is the identifier of the competency on %s", rows[i][colIDNumber], at(j))
		}
	}

	// Parents, refusing loops, which Moodle would silently drop.
	parentRow := make(map[int]int, len(comps)) // row → parent row, -1 for top
	for _, i := range comps {
		p := rows[i][colParent]
		if p == "" {
			parentRow[i] = -1
			continue
		}
		j, ok := byIDNumber[p]
		if !ok {
			return Framework{}, inputErr(at(i), "Parent ID number %q is not the ID number of a competency in the file", p)
		}
		parentRow[i] = j
	}
	if err := checkParentLoops(comps, parentRow, rows, at); err != nil {
		return Framework{}, err
	}

	// Items and the tree.
	siblings := make(map[int]int)
	rowItem := make(map[int]int, len(comps)) // row → index in f.Items
	for _, i := range comps {
		r := rows[i]
		it := Item{Identifier: ident[i], HumanCodingScheme: r[colIDNumber]}
		if it.HumanCodingScheme == it.Identifier {
			it.HumanCodingScheme = "" // exported by Insigne for an item without a usable code
		}
		if n, s, ok := parseItemHTML(r[colDescription]); ok && r[colDescriptionFormat] == formatHTML {
			it.Notes, it.FullStatement = n, s
		} else if it.FullStatement = plainText(r[colDescription], r[colDescriptionFormat]); it.FullStatement == "" {
			it.FullStatement = r[colShortName]
		}
		if r[colShortName] != cut(it.FullStatement, moodleMaxLen) {
			it.AbbreviatedStatement = r[colShortName]
		}
		dest := f.Identifier
		if p := parentRow[i]; p >= 0 {
			it.Parent, dest = ident[p], ident[p]
		}
		siblings[parentRow[i]]++
		rowItem[i] = len(f.Items)
		f.Items = append(f.Items, it)
		f.Associations = append(f.Associations, Association{
			Identifier:     childOfID(f.Identifier, it.Identifier, dest),
			Type:           IsChildOf,
			Origin:         NodeRef{Identifier: it.Identifier},
			Destination:    NodeRef{Identifier: dest},
			SequenceNumber: siblings[parentRow[i]],
		})
	}

	// Cross-references become isRelatedTo associations, one per pair, from
	// the item that comes first.
	type pair struct{ a, b int }
	var pairs []pair
	seen := make(map[pair]bool)
	for _, i := range comps {
		cell := rows[i][colRelated]
		if cell == "" {
			continue
		}
		for raw := range strings.SplitSeq(cell, ",") {
			idn := strings.ReplaceAll(raw, "%2C", ",")
			j, ok := byIDNumber[idn]
			switch {
			case idn == "":
				return Framework{}, inputErr(at(i), "Cross-referenced competency ID numbers: an empty ID number in %q", cell)
			case !ok:
				return Framework{}, inputErr(at(i), "Cross-referenced competency ID numbers: %q is not the ID number of a competency in the file", idn)
			case j == i:
				return Framework{}, inputErr(at(i), "Cross-referenced competency ID numbers: the competency refers to itself")
			}
			p := pair{rowItem[i], rowItem[j]}
			if p.a > p.b {
				p.a, p.b = p.b, p.a
			}
			if !seen[p] {
				if len(f.Associations)+len(pairs) >= MaxAssociations {
					return Framework{}, tooLarge(at(i), "Cross-referenced competency ID numbers: more than %d associations in all", MaxAssociations)
				}
				seen[p] = true
				pairs = append(pairs, p)
			}
		}
	}
	slices.SortFunc(pairs, func(x, y pair) int {
		if x.a != y.a {
			return x.a - y.a
		}
		return x.b - y.b
	})
	for _, p := range pairs {
		a, b := f.Items[p.a].Identifier, f.Items[p.b].Identifier
		f.Associations = append(f.Associations, Association{
			Identifier:  relatedID(f.Identifier, a, b),
			Type:        IsRelatedTo,
			Origin:      NodeRef{Identifier: a},
			Destination: NodeRef{Identifier: b},
		})
	}

	// Rules name child competencies by Exported ID, which Moodle remaps on
	// import and fails on when one is unknown.
	for _, i := range comps {
		refs, err := checkRule(rows[i])
		if err != nil {
			return Framework{}, inputErrAt(at(i), err)
		}
		for _, ref := range refs {
			j, ok := byExportID[ref]
			if !ok {
				return Framework{}, inputErr(at(i), "Rule config (optional): competency %q is not the Exported ID of a competency in the file", ref)
			}
			if parentRow[j] != i {
				return Framework{}, inputErr(at(i), "Rule config (optional): competency %q (%s) is not a child of this competency", ref, at(j))
			}
		}
	}

	// Keep verbatim every cell Insigne would write differently.
	want := moodleRows(f)
	keepFrameworkCells(&f, want[0], fr)
	for k, i := range comps {
		keepCompetencyCells(&f.Items[k], want[k+1], rows[i])
	}
	if err := f.Validate(); err != nil {
		return Framework{}, err
	}
	// The promise is that the file comes back out as it came in; check it
	// rather than lose a cell silently.
	got := moodleRows(f)
	if d := diffRow(got[0], fr); d >= 0 {
		return Framework{}, inputErr(at(fwRow), "%s: %q cannot be kept as given", moodleHeader[d], fr[d])
	}
	for k, i := range comps {
		if d := diffRow(got[k+1], rows[i]); d >= 0 {
			return Framework{}, inputErr(at(i), "%s: %q cannot be kept as given", moodleHeader[d], rows[i][d])
		}
	}
	return f, nil
}

// diffRow returns the first column where the exported row differs from the
// imported one, or -1, ignoring the cells import normalizes: "0" for "not a
// framework" and an empty Exported ID (written back as the identifier).
func diffRow(got, in moodleRow) int {
	for c := range numColumns {
		switch {
		case got[c] == in[c]:
		case c == colIsFramework && in[c] == "0" && got[c] == "":
		case c == colExportID && in[c] == "":
		default:
			return c
		}
	}
	return -1
}

func keepFrameworkCells(f *Framework, want, in moodleRow) {
	m := &MoodleFramework{}
	if in[colIDNumber] != want[colIDNumber] {
		m.IDNumber = in[colIDNumber]
	}
	if in[colShortName] != want[colShortName] {
		m.ShortName = in[colShortName]
	}
	if in[colDescription] != want[colDescription] || in[colDescriptionFormat] != want[colDescriptionFormat] {
		m.Description = &MoodleText{Text: in[colDescription], Format: in[colDescriptionFormat]}
	}
	if in[colScaleValues] != want[colScaleValues] {
		m.ScaleValues = in[colScaleValues]
	}
	if in[colScaleConfiguration] != want[colScaleConfiguration] {
		m.ScaleConfiguration = in[colScaleConfiguration]
	}
	if in[colTaxonomy] != want[colTaxonomy] {
		t := in[colTaxonomy]
		m.Taxonomy = &t
	}
	if *m != (MoodleFramework{}) {
		f.Moodle = m
	}
}

func keepCompetencyCells(it *Item, want, in moodleRow) {
	m := &MoodleCompetency{}
	if in[colExportID] != want[colExportID] && in[colExportID] != "" {
		m.ExportID = in[colExportID]
	}
	if in[colDescription] != want[colDescription] || in[colDescriptionFormat] != want[colDescriptionFormat] {
		m.Description = &MoodleText{Text: in[colDescription], Format: in[colDescriptionFormat]}
	}
	m.ScaleValues, m.ScaleConfiguration = in[colScaleValues], in[colScaleConfiguration]
	if in[colRuleType] != want[colRuleType] || in[colRuleOutcome] != want[colRuleOutcome] || in[colRuleConfig] != want[colRuleConfig] {
		m.Rule = &MoodleRule{Type: in[colRuleType], Outcome: in[colRuleOutcome], Config: in[colRuleConfig]}
	}
	if in[colRelated] != want[colRelated] {
		r := in[colRelated]
		m.Related = &r
	}
	if *m != (MoodleCompetency{}) {
		it.Moodle = m
	}
}

// readMoodleCSV reads the rows after the header, with the line each starts
// on.
func readMoodleCSV(data []byte) ([]moodleRow, []int, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // checked below, with a clearer message
	var rows []moodleRow
	var lines []int
	for n := 0; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, inputErr(fmt.Sprintf("line %d", pe.Line), "invalid CSV: %v", pe.Err)
			}
			return nil, nil, inputErr("file", "invalid CSV: %v", err)
		}
		line, _ := r.FieldPos(0)
		where := fmt.Sprintf("line %d", line)
		if len(rec) != numColumns {
			return nil, nil, inputErr(where, "%d columns, want %d (%s)", len(rec), numColumns, strings.Join(moodleHeader[:], ", "))
		}
		for c, v := range rec {
			if !utf8.ValidString(v) {
				return nil, nil, inputErr(where, "%s: not UTF-8 text", moodleHeader[c])
			}
		}
		if n == 0 {
			continue // the header, which Moodle reads by position only
		}
		// One row more than the cap is enough to refuse the file.
		if len(rows) > MaxItems+1 {
			return nil, nil, tooLarge(where, "more than %d competencies", MaxItems)
		}
		rows = append(rows, moodleRow(rec))
		lines = append(lines, line)
	}
	if len(rows) == 0 {
		return nil, nil, inputErr("file", "no rows after the header")
	}
	return rows, lines, nil
}

// cellError is a problem in one column of a row.
type cellError struct {
	col     int
	problem string
}

func (e *cellError) Error() string { return moodleHeader[e.col] + ": " + e.problem }

func cellErr(col int, format string, args ...any) error {
	return &cellError{col, fmt.Sprintf(format, args...)}
}

func inputErrAt(where string, err error) error {
	return &InputError{Where: where, Problem: err.Error()}
}

func checkFrameworkRow(r moodleRow) error {
	if err := checkName(r, colIDNumber); err != nil {
		return err
	}
	if err := checkName(r, colShortName); err != nil {
		return err
	}
	for _, c := range []int{colParent, colRuleType, colRuleOutcome, colRuleConfig, colRelated, colExportID} {
		if r[c] != "" {
			return cellErr(c, "must be empty on the framework row, not %q", r[c])
		}
	}
	if !slices.Contains(descriptionFormats, r[colDescriptionFormat]) {
		return cellErr(colDescriptionFormat, "%q is not a Moodle format (0, 1, 2 or 4)", r[colDescriptionFormat])
	}
	if r[colScaleValues] == "" {
		return cellErr(colScaleValues, "missing: a Moodle framework needs a scale")
	}
	if err := checkScale(r[colScaleValues], r[colScaleConfiguration]); err != nil {
		return err
	}
	if r[colTaxonomy] != "" {
		for t := range strings.SplitSeq(r[colTaxonomy], ",") {
			if !slices.Contains(taxonomyTerms, t) {
				return cellErr(colTaxonomy, "%q is not a Moodle taxonomy term (%s)", t, strings.Join(taxonomyTerms, ", "))
			}
		}
	}
	return nil
}

func checkCompetencyRow(r moodleRow) error {
	if err := checkName(r, colIDNumber); err != nil {
		return err
	}
	if err := checkName(r, colShortName); err != nil {
		return err
	}
	if r[colTaxonomy] != "" {
		return cellErr(colTaxonomy, "must be empty on a competency row (taxonomies belong to the framework row), not %q", r[colTaxonomy])
	}
	if !slices.Contains(descriptionFormats, r[colDescriptionFormat]) {
		return cellErr(colDescriptionFormat, "%q is not a Moodle format (0, 1, 2 or 4)", r[colDescriptionFormat])
	}
	if r[colScaleValues] == "" {
		if r[colScaleConfiguration] != "" {
			return cellErr(colScaleConfiguration, "given without scale values")
		}
		return nil
	}
	return checkScale(r[colScaleValues], r[colScaleConfiguration])
}

// checkName checks an ID number or short name: present, and short enough
// that Moodle keeps it whole.
func checkName(r moodleRow, c int) error {
	switch n := utf8.RuneCountInString(r[c]); {
	case strings.TrimSpace(r[c]) == "":
		return cellErr(c, "missing")
	case n > moodleMaxLen:
		return cellErr(c, "%d characters, more than the %d Moodle keeps", n, moodleMaxLen)
	}
	return nil
}

// checkScale checks scale values ("Non acquis,Acquis") and their Moodle
// configuration: [{"scaleid":…},{"id":<value number from 1>,"scaledefault":0|1,"proficient":0|1},…]
// with one default and at least one proficient value, as Moodle requires.
func checkScale(values, config string) error {
	n := 0
	for v := range strings.SplitSeq(values, ",") {
		if strings.TrimSpace(v) == "" {
			return cellErr(colScaleValues, "an empty value in %q", values)
		}
		n++
	}
	var entries []map[string]json.RawMessage
	if err := strictJSON(config, &entries); err != nil || len(entries) == 0 {
		return cellErr(colScaleConfiguration, "want a JSON array starting with {\"scaleid\":…}")
	}
	if _, ok := entries[0]["scaleid"]; !ok {
		return cellErr(colScaleConfiguration, "the first entry must hold the scaleid")
	}
	defaults, proficient := 0, 0
	seen := make(map[int64]bool)
	for k, e := range entries[1:] {
		id, err1 := jsonInt(e["id"])
		d, err2 := jsonInt(e["scaledefault"])
		p, err3 := jsonInt(e["proficient"])
		switch {
		case err1 != nil || id < 1 || id > int64(n):
			return cellErr(colScaleConfiguration, "entry %d: id must be a value number from 1 to %d", k+1, n)
		case seen[id]:
			return cellErr(colScaleConfiguration, "entry %d: value %d is configured twice", k+1, id)
		case err2 != nil || (d != 0 && d != 1), err3 != nil || (p != 0 && p != 1):
			return cellErr(colScaleConfiguration, "entry %d: scaledefault and proficient must be 0 or 1", k+1)
		}
		seen[id] = true
		defaults += int(d)
		proficient += int(p)
	}
	if defaults != 1 || proficient == 0 {
		return cellErr(colScaleConfiguration, "needs exactly one default value and at least one proficient value")
	}
	return nil
}

// checkRule checks a competency's rule and returns the Exported IDs its
// configuration refers to.
func checkRule(r moodleRow) ([]string, error) {
	typ, outcome, config := r[colRuleType], r[colRuleOutcome], r[colRuleConfig]
	if !slices.Contains([]string{"", "0", "1", "2", "3"}, outcome) {
		return nil, cellErr(colRuleOutcome, "%q is not a Moodle rule outcome (0 none, 1 evidence, 2 complete, 3 recommend)", outcome)
	}
	switch typ {
	case "", ruleAll:
		if config != "" && config != "null" {
			return nil, cellErr(colRuleConfig, "must be null for rule type %q", typ)
		}
		if typ == ruleAll && outcome == "" {
			return nil, cellErr(colRuleOutcome, "missing for a rule")
		}
		return nil, nil
	case rulePoints:
	default:
		return nil, cellErr(colRuleType, "%q is not a Moodle rule (%s or %s)", typ, ruleAll, rulePoints)
	}
	if outcome == "" {
		return nil, cellErr(colRuleOutcome, "missing for a rule")
	}
	var cfg struct {
		Base *struct {
			Points json.RawMessage `json:"points"`
		} `json:"base"`
		Competencies []struct {
			ID       json.RawMessage `json:"id"`
			Points   json.RawMessage `json:"points"`
			Required json.RawMessage `json:"required"`
		} `json:"competencies"`
	}
	if err := strictJSON(config, &cfg); err != nil || cfg.Base == nil || len(cfg.Competencies) == 0 {
		return nil, cellErr(colRuleConfig, `want {"base":{"points":N},"competencies":[{"id":…,"points":N,"required":0|1},…]}`)
	}
	base, err := jsonInt(cfg.Base.Points)
	if err != nil || base < 1 {
		return nil, cellErr(colRuleConfig, "base points must be a positive integer")
	}
	var refs []string
	listed := make(map[string]bool, len(cfg.Competencies))
	var total int64
	for k, c := range cfg.Competencies {
		ref, err := jsonID(c.ID)
		if err != nil {
			return nil, cellErr(colRuleConfig, "competency %d: id must be a number or a string", k+1)
		}
		if listed[ref] {
			return nil, cellErr(colRuleConfig, "competency %q is listed twice", ref)
		}
		listed[ref] = true
		p, err1 := jsonInt(c.Points)
		req, err2 := jsonInt(c.Required)
		if err1 != nil || p < 0 || err2 != nil || (req != 0 && req != 1) {
			return nil, cellErr(colRuleConfig, "competency %q: points must be an integer from 0 and required 0 or 1", ref)
		}
		refs = append(refs, ref)
		total = min(total, math.MaxInt64-p) + p // no overflow on hostile numbers
	}
	if total < base {
		return nil, cellErr(colRuleConfig, "the competencies bring %d points, fewer than the %d required", total, base)
	}
	return refs, nil
}

// strictJSON decodes one JSON value, refusing trailing data.
func strictJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// jsonInt reads a JSON integer (Moodle writes numbers; a string holding one
// is accepted, as PHP would).
func jsonInt(raw json.RawMessage) (int64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strconv.ParseInt(s, 10, 64)
	}
	return strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
}

// jsonID reads a competency reference in a rule: a number or a string.
func jsonID(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return "", err
	}
	return n.String(), nil
}

// checkParentLoops refuses competencies whose parent chain loops: Moodle
// would drop them without a word.
func checkParentLoops(comps []int, parent map[int]int, rows []moodleRow, at func(int) string) error {
	const (
		unknown = iota
		walking
		rooted
	)
	state := make(map[int]int, len(comps))
	for _, start := range comps {
		var chain []int
		i := start
		for i >= 0 && state[i] == unknown {
			state[i] = walking
			chain = append(chain, i)
			i = parent[i]
		}
		if i >= 0 && state[i] == walking {
			k := slices.Index(chain, i)
			var names []string
			for _, j := range chain[k:] {
				names = append(names, fmt.Sprintf("%q (%s)", rows[j][colIDNumber], at(j)))
			}
			names = append(names, fmt.Sprintf("%q", rows[i][colIDNumber]))
			return inputErr(at(i), "parent loop: %s", strings.Join(names, " → "))
		}
		for _, j := range chain {
			state[j] = rooted
		}
	}
	return nil
}
