package competency

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// moodleExport is a framework as Moodle's tool_lpimportcsv exports it
// (framework_exporter.php through PHP's fputcsv): English headers, quotes
// only where a field needs them, Moodle's numeric ids in Exported ID, "0" and
// "null" for competencies without a rule, cross-references listed on both
// competencies with commas written %2C, a points rule naming children by
// Exported ID, a scale on one competency, and descriptions as Moodle's
// editor leaves them.
const moodleExport = `"Parent ID number","ID number","Short name",Description,"Description format","Scale values","Scale configuration","Rule type (optional)","Rule outcome (optional)","Rule config (optional)","Cross-referenced competency ID numbers","Exported ID (optional)","Is framework",Taxonomy
,CRCN-EDU,"Cadre numérique enseignant","<p>Compétences numériques des enseignants, <strong>académie de Versailles</strong>.</p>
<p>Version de travail.</p>",1,"Pas encore acquis,En cours,Acquis","[{""scaleid"":""3""},{""id"":1,""scaledefault"":1,""proficient"":0},{""id"":3,""scaledefault"":0,""proficient"":1}]",,,,,,1,"domain,competency,indicator"
,DOM1,"Environnement numérique","<p>Environnement numérique professionnel</p>",1,,,,0,null,,12,,
DOM1,C1.1,"Utiliser l'ENT","<p>Utiliser l&#39;ENT et les outils
de la classe.<br></p>",1,,,"core_competency\competency_rule_points",2,"{""base"":{""points"":2},""competencies"":[{""id"":14,""points"":1,""required"":1},{""id"":15,""points"":1,""required"":0}]}","C1.2,DOM2",13,,
C1.1,C1.1.a,"Se connecter","<p>Se connecter à l'ENT.</p>",1,,,,0,null,,14,,
C1.1,C1.1.b,Publier,"Publier un document dans l'espace de la classe.",2,"Non,Oui","[{""scaleid"":""4""},{""id"":2,""scaledefault"":1,""proficient"":1}]",,0,null,,15,,
DOM1,C1.2,"Protéger les données","<p>Protéger les données personnelles des élèves (RGPD).</p>",1,,,,0,null,"C1.1,a%2Cb",16,,
,DOM2,Pédagogie,,1,,,,0,null,C1.1,17,,
DOM2,"a,b","Compétence à virgule","<p>Un ID number avec une virgule</p>",1,,,"core_competency\competency_rule_all",1,null,C1.2,18,,
`

func TestMoodleRoundTripMoodleExport(t *testing.T) {
	f, err := ImportMoodleCSV([]byte(moodleExport))
	if err != nil {
		t.Fatal(err)
	}
	// What the model holds.
	if f.Identifier != DocumentID("CRCN-EDU") || f.Title != "Cadre numérique enseignant" {
		t.Errorf("framework %s %q", f.Identifier, f.Title)
	}
	if f.Description != "Compétences numériques des enseignants, académie de Versailles. Version de travail." {
		t.Errorf("description %q", f.Description)
	}
	codes := make([]string, len(f.Items))
	for i, it := range f.Items {
		codes[i] = it.HumanCodingScheme
		if it.Identifier != ItemID(f.Identifier, it.HumanCodingScheme) {
			t.Errorf("%s: identifier %s, want the derived one", it.HumanCodingScheme, it.Identifier)
		}
	}
	if got := strings.Join(codes, " "); got != "DOM1 C1.1 C1.1.a C1.1.b C1.2 DOM2 a,b" {
		t.Errorf("codes %s", got)
	}
	for code, want := range map[string][3]string{ // parent, statement, abbreviation
		"DOM1":   {"", "Environnement numérique professionnel", "Environnement numérique"},
		"C1.1":   {"DOM1", "Utiliser l'ENT et les outils de la classe.", "Utiliser l'ENT"},
		"C1.1.a": {"C1.1", "Se connecter à l'ENT.", "Se connecter"},
		"C1.1.b": {"C1.1", "Publier un document dans l'espace de la classe.", "Publier"},
		"DOM2":   {"", "Pédagogie", ""},
	} {
		it := mustItem(t, f, code)
		parent := ""
		if p, ok := f.ItemByID(it.Parent); ok {
			parent = p.HumanCodingScheme
		}
		if got := [3]string{parent, it.FullStatement, it.AbbreviatedStatement}; got != want {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
	var related []string
	for _, a := range f.Associations {
		if a.Type == IsRelatedTo {
			o, _ := f.ItemByID(a.Origin.Identifier)
			d, _ := f.ItemByID(a.Destination.Identifier)
			related = append(related, o.HumanCodingScheme+"~"+d.HumanCodingScheme)
		}
	}
	if got := strings.Join(related, " "); got != "C1.1~C1.2 C1.1~DOM2 C1.2~a,b" {
		t.Errorf("isRelatedTo %s", got)
	}
	if m := mustItem(t, f, "C1.1").Moodle; m == nil || m.ExportID != "13" || m.Rule == nil || m.Rule.Outcome != "2" {
		t.Errorf("C1.1 Moodle cells %+v", m)
	}
	if m := mustItem(t, f, "C1.2").Moodle; m == nil || m.Description != nil || m.Related != nil {
		t.Errorf("C1.2 should keep only its exported id: %+v", m)
	}

	// And the file comes back out byte for byte.
	out, err := ExportMoodleCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != moodleExport {
		t.Errorf("export(import(csv)) differs:\n%s", lineDiff(string(out), moodleExport))
	}
}

func TestMoodleRoundTripOfficial(t *testing.T) {
	fs, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		data, err := ExportMoodleCSV(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ImportMoodleCSV(data)
		if err != nil {
			t.Fatal(err)
		}
		// Nothing Moodle-only appears, and all a CSV carries comes back,
		// identifiers included.
		if d := frameworkDiff(got, csvCarried(f)); d != "" {
			t.Errorf("%s: import(export(f)) != f: %s", f.Title, d)
		}
		again, err := ExportMoodleCSV(got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Errorf("%s: export(import(csv)) differs:\n%s", f.Title, lineDiff(string(again), string(data)))
		}
	}

	f := officialByKey(t, KeyRCPMPE2013)
	data, _ := ExportMoodleCSV(f)
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+1+len(f.Items) {
		t.Fatalf("%d rows", len(rows))
	}
	cc14 := mustItem(t, f, "CC14")
	want := []string{"CC-G3", "CC14", cc14.FullStatement, "<p>" + cc14.FullStatement + "</p>", "1", "", "", "", "0", "null", "", cc14.Identifier, "", ""}
	for _, r := range rows {
		if r[1] == "CC14" && !reflect.DeepEqual(r, want) {
			t.Errorf("CC14 row %q\nwant %q", r, want)
		}
		if r[1] == "P1.4" && r[3] != "<p><em>En particulier, à l'école :</em></p><p>tirer parti de sa polyvalence pour favoriser les continuités entre les domaines d'activités à l'école maternelle et assurer la cohésion du parcours d'apprentissage à l'école élémentaire ;</p>" {
			t.Errorf("P1.4 description %q", r[3])
		}
		if len([]rune(r[2])) > 100 {
			t.Errorf("short name of %s is %d characters", r[1], len([]rune(r[2])))
		}
	}
	if fw := rows[1]; fw[1] != f.Identifier || fw[12] != "1" || fw[13] != "competency,competency,competency,competency" || fw[5] != "Non acquis,Acquis" {
		t.Errorf("framework row %q", fw)
	}
}

// TestMoodleDerivedFiles reads the CSV files of the data directory, written
// by another tool: same wording as the official frameworks, and every cell
// comes back out as it went in.
func TestMoodleDerivedFiles(t *testing.T) {
	for key, file := range map[string]string{
		KeyRCPMPE2013: "frameworks/derived/rcpmpe-2013.moodle-lpimportcsv.csv",
		KeyRCPF2015:   "frameworks/derived/rcpf-2015.moodle-lpimportcsv.csv",
	} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ImportMoodleCSV(raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		off := officialByKey(t, key)
		if f.Title != off.Title || len(f.Items) != len(off.Items) {
			t.Fatalf("%s: %q, %d items", file, f.Title, len(f.Items))
		}
		for i, it := range f.Items {
			o := off.Items[i]
			if it.HumanCodingScheme != o.HumanCodingScheme || it.FullStatement != o.FullStatement || it.Notes != o.Notes {
				t.Errorf("%s %s: %q %q, want %q %q", key, o.HumanCodingScheme, it.FullStatement, it.Notes, o.FullStatement, o.Notes)
			}
		}
		out, err := ExportMoodleCSV(f)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		got, _ := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if !reflect.DeepEqual(got[1:], in[1:]) {
			t.Errorf("%s: the cells changed on the way through", file)
		}
	}
}

// TestMoodleFromCASE: a framework from elsewhere keeps its identifiers
// through a Moodle CSV, even items without a usable code.
func TestMoodleFromCASE(t *testing.T) {
	p := smallPackage()
	items := p["CFItems"].([]any)
	delete(items[1].(map[string]any), "humanCodingScheme")
	p["CFAssociations"] = append(p["CFAssociations"].([]any), map[string]any{
		"identifier": uX3, "associationType": "isRelatedTo",
		"originNodeURI": map[string]any{"identifier": uB}, "destinationNodeURI": map[string]any{"identifier": uA},
	})
	f, err := ImportCASE(marshal(t, p))
	if err != nil {
		t.Fatal(err)
	}
	data, err := ExportMoodleCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\nA,"+uB+",") {
		t.Errorf("the item without a code should have its identifier as ID number:\n%s", data)
	}
	g, err := ImportMoodleCSV(data)
	if err != nil {
		t.Fatal(err)
	}
	if g.Identifier != f.Identifier || len(g.Items) != 2 || g.Items[0].Identifier != uA || g.Items[1].Identifier != uB || g.Items[1].Parent != uA || g.Items[1].HumanCodingScheme != "" {
		t.Errorf("identifiers lost: %+v", g.Items)
	}
	if n := len(relatedItems(g)[uA]); n != 1 {
		t.Errorf("A has %d related items, want 1", n)
	}
}

// moodleFile builds a small file: the header, a framework row, then rows.
func moodleFile(rows ...string) string {
	return strings.Join(append([]string{
		strings.Repeat("h,", 13) + "h",
		`,FW,"Petit cadre","<p>Petit cadre</p>",1,"Non acquis,Acquis","[{""scaleid"":""0""},{""id"":2,""scaledefault"":1,""proficient"":1}]",,,,,,1,competency`,
	}, rows...), "\n") + "\n"
}

// row builds a competency row; cells are index:value pairs over the
// defaults.
func row(parent, idnumber string, cells ...any) string {
	r := []string{parent, idnumber, "Nom " + idnumber, "", "1", "", "", "", "0", "null", "", "", "", ""}
	for i := 0; i+1 < len(cells); i += 2 {
		r[cells[i].(int)] = cells[i+1].(string)
	}
	var b bytes.Buffer
	writeCSVRow(&b, r)
	return strings.TrimSuffix(b.String(), "\n")
}

func TestImportMoodleCSVRefuses(t *testing.T) {
	fwRow := `,FW2,"Autre","",1,"Non acquis,Acquis","[{""scaleid"":""0""},{""id"":2,""scaledefault"":1,""proficient"":1}]",,,,,,1,`
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "file: no rows after the header"},
		{"header only", strings.Repeat("h,", 13) + "h\n", "file: no rows after the header"},
		{"no framework row", strings.Repeat("h,", 13) + "h\n" + row("", "A") + "\n", "file: no framework row (Is framework = 1)"},
		{"two framework rows", moodleFile(row("", "A"), fwRow), "line 4: a second framework row (Is framework = 1); the first is on line 2"},
		{"Is framework not a flag", moodleFile(row("", "A", colIsFramework, "yes")), `line 3: Is framework is "yes", want 1 or empty`},
		{"short row", moodleFile(row("", "A"), "B,C"), "line 4: 2 columns, want 14"},
		{"bare quote", moodleFile(`,A,Nom "A",,1,,,,0,null,,,,`), `line 3: invalid CSV: bare " in non-quoted-field`},
		{"not UTF-8", moodleFile(row("", "A", colShortName, "Comp\xe9tence")), "line 3: Short name: not UTF-8 text"},
		{"missing ID number", moodleFile(row("", "A"), row("A", "")), "line 4: ID number: missing"},
		{"missing short name", moodleFile(row("", "A", colShortName, " ")), "line 3: Short name: missing"},
		{"ID number too long", moodleFile(row("", strings.Repeat("x", 101))), "line 3: ID number: 101 characters, more than the 100 Moodle keeps"},
		{"ID number holding %2C", moodleFile(row("", "a%2Cb")), `line 3: ID number "a%2Cb" holds %2C`},
		{"duplicate ID number", moodleFile(row("", "A"), row("", "B"), row("A", "B")), `line 5: ID number "B" is also on line 4`},
		{"duplicate Exported ID", moodleFile(row("", "A", colExportID, "7"), row("", "B", colExportID, "7")), `line 4: Exported ID "7" is also on line 3`},
		{"duplicate identifier", moodleFile(row("", "A", colExportID, ItemID(DocumentID("FW"), "B")), row("", "B")),
			"line 4: identifier " + ItemID(DocumentID("FW"), "B") + " is also the identifier of the competency on line 3"},
		{"ID number that is another identifier", moodleFile(row("", "A", colExportID, uA), row("", uA)), `line 4: ID number "` + uA + `" is the identifier of the competency on line 3`},
		{"unknown parent", moodleFile(row("", "A"), row("Z", "B")), `line 4: Parent ID number "Z" is not the ID number of a competency in the file`},
		{"framework as parent", moodleFile(row("", "A"), row("FW", "B")), `line 4: Parent ID number "FW" is not the ID number`},
		{"parent loop", moodleFile(row("", "A"), row("C", "B"), row("B", "C")), `line 4: parent loop: "B" (line 4) → "C" (line 5) → "B"`},
		{"own parent", moodleFile(row("A", "A")), `line 3: parent loop: "A" (line 3) → "A"`},
		{"unknown cross-reference", moodleFile(row("", "A", colRelated, "B")), `line 3: Cross-referenced competency ID numbers: "B" is not the ID number of a competency in the file`},
		{"empty cross-reference", moodleFile(row("", "A", colRelated, "B,"), row("", "B")), `line 3: Cross-referenced competency ID numbers: an empty ID number in "B,"`},
		{"cross-reference to itself", moodleFile(row("", "A", colRelated, "A")), "line 3: Cross-referenced competency ID numbers: the competency refers to itself"},
		{"scale without default", moodleFile(row("", "A", colScaleValues, "Non,Oui", colScaleConfiguration, `[{"scaleid":"1"},{"id":2,"scaledefault":0,"proficient":1}]`)),
			"line 3: Scale configuration: needs exactly one default value and at least one proficient value"},
		{"scale value out of range", moodleFile(row("", "A", colScaleValues, "Non,Oui", colScaleConfiguration, `[{"scaleid":"1"},{"id":3,"scaledefault":1,"proficient":1}]`)),
			"line 3: Scale configuration: entry 1: id must be a value number from 1 to 2"},
		{"scale configuration not JSON", moodleFile(row("", "A", colScaleValues, "Non,Oui", colScaleConfiguration, `oui`)), "line 3: Scale configuration: want a JSON array"},
		{"scale configuration alone", moodleFile(row("", "A", colScaleConfiguration, `[{"scaleid":"1"}]`)), "line 3: Scale configuration: given without scale values"},
		{"framework without scale", strings.Repeat("h,", 13) + "h\n" + `,FW,Cadre,,1,,,,,,,,1,` + "\n", "line 2: Scale values: missing: a Moodle framework needs a scale"},
		{"framework with a parent", strings.Repeat("h,", 13) + "h\n" + `X,FW,Cadre,,1,"A,B","[{""scaleid"":""0""},{""id"":2,""scaledefault"":1,""proficient"":1}]",,,,,,1,` + "\n",
			`line 2: Parent ID number: must be empty on the framework row, not "X"`},
		{"bad taxonomy", strings.Repeat("h,", 13) + "h\n" + `,FW,Cadre,,1,"A,B","[{""scaleid"":""0""},{""id"":2,""scaledefault"":1,""proficient"":1}]",,,,,,1,"domaine"` + "\n",
			`line 2: Taxonomy: "domaine" is not a Moodle taxonomy term`},
		{"taxonomy on a competency", moodleFile(row("", "A", colTaxonomy, "skill")), "line 3: Taxonomy: must be empty on a competency row"},
		{"bad format", moodleFile(row("", "A", colDescriptionFormat, "html")), `line 3: Description format: "html" is not a Moodle format`},
		{"unknown rule", moodleFile(row("", "A", colRuleType, `core_competency\competency_rule_some`, colRuleOutcome, "1")), `line 3: Rule type (optional): "core_competency\\competency_rule_some" is not a Moodle rule`},
		{"bad outcome", moodleFile(row("", "A", colRuleType, ruleAll, colRuleOutcome, "4")), `line 3: Rule outcome (optional): "4" is not a Moodle rule outcome`},
		{"points rule without config", moodleFile(row("", "A", colRuleType, rulePoints, colRuleOutcome, "1")), `line 3: Rule config (optional): want {"base"`},
		{"points rule to an unknown id", moodleFile(row("", "A", colRuleType, rulePoints, colRuleOutcome, "1", colRuleConfig, `{"base":{"points":1},"competencies":[{"id":9,"points":1,"required":0}]}`)),
			`line 3: Rule config (optional): competency "9" is not the Exported ID of a competency in the file`},
		{"points rule to a non-child", moodleFile(
			row("", "A", colExportID, "1", colRuleType, rulePoints, colRuleOutcome, "1", colRuleConfig, `{"base":{"points":1},"competencies":[{"id":2,"points":1,"required":0}]}`),
			row("", "B", colExportID, "2")),
			`line 3: Rule config (optional): competency "2" (line 4) is not a child of this competency`},
		{"points rule short of points", moodleFile(
			row("", "A", colExportID, "1", colRuleType, rulePoints, colRuleOutcome, "1", colRuleConfig, `{"base":{"points":3},"competencies":[{"id":2,"points":1,"required":0}]}`),
			row("A", "B", colExportID, "2")),
			"line 3: Rule config (optional): the competencies bring 1 points, fewer than the 3 required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ImportMoodleCSV([]byte(tc.data))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v, want an *InputError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestImportMoodleCSVSizeCaps(t *testing.T) {
	_, err := ImportMoodleCSV(make([]byte, MaxImportBytes+1))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("17 MiB: %v", err)
	}

	rows := make([]string, 0, MaxItems+1)
	for i := range MaxItems + 1 {
		rows = append(rows, fmt.Sprintf(",C%d,N,,1,,,,0,null,,,,", i))
	}
	_, err = ImportMoodleCSV([]byte(moodleFile(rows...)))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "line 50003: more than 50000 competencies") {
		t.Errorf("50,001 competencies: %v", err)
	}
	// Cross-references are cheap in CSV but each becomes an association.
	rows = rows[:0]
	const n = 700 // 700 items and 244,650 pairs
	for i := range n {
		var rel []string
		for j := i + 1; j < n; j++ {
			rel = append(rel, fmt.Sprintf("C%d", j))
		}
		rows = append(rows, row("", fmt.Sprintf("C%d", i), colRelated, strings.Join(rel, ",")))
	}
	_, err = ImportMoodleCSV([]byte(moodleFile(rows...)))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 200000 associations") {
		t.Errorf("244,650 cross-references: %v", err)
	}

	// 50,000 competencies are fine.
	rows = rows[:0]
	for i := range MaxItems {
		rows = append(rows, fmt.Sprintf(",C%d,N,,1,,,,0,null,,,,", i))
	}
	if _, err := ImportMoodleCSV([]byte(moodleFile(rows...))); err != nil {
		t.Errorf("50,000 competencies: %v", err)
	}
}

func TestImportMoodleCSVAccepts(t *testing.T) {
	// A byte order mark, CRLF line ends, a header in French, everything
	// quoted, "0" for "not a framework", and cross-references listed on one
	// side only.
	data := "\xef\xbb\xbf" + `"Numéro d'identification du parent","Numéro d'identification","Nom abrégé","Description","Format de description","Valeurs de l'échelle","Configuration de l'échelle","Type de règle","Résultat de la règle","Configuration de la règle","Compétences liées","ID exporté","Est un référentiel","Taxonomie"` + "\r\n" +
		`"","FW","Cadre","<p>Cadre</p>","1","Non acquis,Acquis","[{""scaleid"":""0""},{""id"":2,""scaledefault"":1,""proficient"":1}]","","","","","","1","competency,competency"` + "\r\n" +
		`"","A","Compétence A","<p>Compétence A</p>","1","","","","","","B","","0",""` + "\r\n" +
		`"A","B","Compétence B","<p>Compétence B</p>","1","","","","","","","","0",""` + "\r\n"
	f, err := ImportMoodleCSV([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Items) != 2 || f.Items[1].Parent != f.Items[0].Identifier || f.Moodle == nil || f.Moodle.IDNumber != "FW" {
		t.Errorf("%+v", f)
	}
	out, err := ExportMoodleCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ImportMoodleCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := frameworkDiff(g, f); d != "" {
		t.Error(d)
	}
	in, _ := csv.NewReader(bytes.NewReader([]byte(data[3:]))).ReadAll()
	got, _ := csv.NewReader(bytes.NewReader(out)).ReadAll()
	for r := 1; r < len(in); r++ {
		for c := range in[r] {
			if got[r][c] != in[r][c] && !(c == colIsFramework && in[r][c] == "0") && !(c == colExportID && in[r][c] == "") {
				t.Errorf("row %d %s: %q, want %q", r, moodleHeader[c], got[r][c], in[r][c])
			}
		}
	}
}

// lineDiff shows the first differing line of two texts.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got %q\nwant %q", i+1, gl, wl)
		}
	}
	return "(same lines)"
}
