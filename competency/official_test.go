package competency

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// dataNodes reads a data file on its own, without the loader under test.
func dataNodes(t *testing.T, file string) []map[string]any {
	t.Helper()
	raw, err := officialFiles.ReadFile("frameworks/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Nodes []map[string]any `json:"nodes"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d.Nodes
}

const (
	file2013 = "rcpmpe-2013-referentiel-metiers-professorat-education.json"
	file2015 = "rcpf-2015-referentiel-formateur.json"
)

func TestOfficialCounts(t *testing.T) {
	fs, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("%d official frameworks, want 2", len(fs))
	}
	for _, tc := range []struct {
		key, file string
		// per CFItemType, as the data README counts them
		types map[string]int
	}{
		{KeyRCPMPE2013, file2013, map[string]int{"Section": 4, "Groupe": 11, "Compétence": 31, "Item": 141}},
		{KeyRCPF2015, file2015, map[string]int{"Domaine": 4, "Compétence": 23, "Composante": 24}},
	} {
		f := officialByKey(t, tc.key)
		if n := len(dataNodes(t, tc.file)); len(f.Items) != n {
			t.Errorf("%s: %d items, the data file has %d nodes", tc.key, len(f.Items), n)
		}
		got := make(map[string]int)
		for _, it := range f.Items {
			got[it.CFItemType]++
		}
		if !reflect.DeepEqual(got, tc.types) {
			t.Errorf("%s: items per type %v, want %v", tc.key, got, tc.types)
		}
		if len(f.Associations) != len(f.Items) {
			t.Errorf("%s: %d associations, want one isChildOf per item (%d)", tc.key, len(f.Associations), len(f.Items))
		}
	}

	// The official codes are all there, as competencies.
	f := officialByKey(t, KeyRCPMPE2013)
	var codes []string
	for prefix, n := range map[string]int{"CC": 14, "P": 5, "D": 4, "CPE": 8} {
		for i := 1; i <= n; i++ {
			codes = append(codes, prefix+strconv.Itoa(i))
		}
	}
	for _, c := range codes {
		if it := mustItem(t, f, c); it.CFItemType != "Compétence" {
			t.Errorf("%s is a %s, want a Compétence", c, it.CFItemType)
		}
	}
	if it := mustItem(t, f, "CPE3"); it.ListEnumeration != "C3" {
		t.Errorf("CPE3 listEnumeration %q, want the text's numbering C3", it.ListEnumeration)
	}
	if it := mustItem(t, f, "CC14"); it.ListEnumeration != "14" {
		t.Errorf("CC14 listEnumeration %q, want 14", it.ListEnumeration)
	}

	// 2015: four domains of 7, 7, 4 and 5 competencies.
	f = officialByKey(t, KeyRCPF2015)
	for code, n := range map[string]int{"F1": 7, "F2": 7, "F3": 4, "F4": 5} {
		d := mustItem(t, f, code)
		var comps []string
		for _, c := range f.Children(d.Identifier) {
			comps = append(comps, c.HumanCodingScheme)
		}
		if len(comps) != n {
			t.Errorf("%s has %d competencies %v, want %d", code, len(comps), comps, n)
		}
		if comps[0] != code+".1" {
			t.Errorf("%s: first child %s, want %s.1", code, comps[0], code)
		}
	}
}

func TestOfficialWording(t *testing.T) {
	f13 := officialByKey(t, KeyRCPMPE2013)
	f15 := officialByKey(t, KeyRCPF2015)

	// A few statements, typed from the data files, byte for byte: the
	// typographic apostrophes of 2015, the double period of F2.2 and the
	// stray bracket of P1.3 are in the official text.
	for _, tc := range []struct {
		f                      Framework
		code, full, abbr, note string
	}{
		{f13, "CC14", "S'engager dans une démarche individuelle et collective de développement professionnel", "", ""},
		{f13, "P1.3", "Contribuer à la mise en place de projets interdisciplinaires au service des objectifs inscrits dans les programmes d']enseignement.", "", ""},
		{f13, "P1.4", "tirer parti de sa polyvalence pour favoriser les continuités entre les domaines d'activités à l'école maternelle et assurer la cohésion du parcours d'apprentissage à l'école élémentaire ;", "", "En particulier, à l'école :"},
		{f15, "F1", "Penser - Concevoir - Élaborer", "", ""},
		{f15, "F1.1", "Connaître les fondamentaux de la formation professionnelle : le vocabulaire commun, les acteurs et le contexte réglementaire ; les étapes et les types d’évaluation d’une action de formation ; les dispositifs et les formats de formation ; le rôle, les obligations et la posture du formateur ; les caractéristiques et les ressorts de la motivation de l’adulte apprenant.", "Connaître les fondamentaux de la formation professionnelle", ""},
		{f15, "F1.2", "Identifier les conditions qui favorisent l’efficacité d’une formation et une évolution chez les apprenants.", "Identifier les conditions", ""},
		{f15, "F1.4.b", "identifier les pré-requis", "", ""},
		{f15, "F1.5", "Concevoir le scénario et les ressources spécifiques pour une formation hybride ou à distance.", "Concevoir", ""},
		{f15, "F2.2", "Installer un environnement bienveillant et sécurisant ; ne pas ignorer les répercussions émotionnelles de la formation chez les personnes en formation..", "Installer un environnement bienveillant et sécurisant", ""},
	} {
		it := mustItem(t, tc.f, tc.code)
		if it.FullStatement != tc.full || it.AbbreviatedStatement != tc.abbr || it.Notes != tc.note {
			t.Errorf("%s:\n got %q / %q / %q\nwant %q / %q / %q", tc.code, it.FullStatement, it.AbbreviatedStatement, it.Notes, tc.full, tc.abbr, tc.note)
		}
	}

	// Every statement is the data file's title or text, unchanged, and the
	// tree is the data file's.
	for _, tc := range []struct {
		f    Framework
		file string
	}{{f13, file2013}, {f15, file2015}} {
		for i, n := range dataNodes(t, tc.file) {
			it := tc.f.Items[i]
			want, _ := n["title"].(string)
			if text, ok := n["text"].(string); ok && text != "" {
				want = text
			}
			if it.HumanCodingScheme != n["id"] || it.FullStatement != want {
				t.Errorf("%s item %d: %s %q, want %s %q", tc.file, i, it.HumanCodingScheme, it.FullStatement, n["id"], want)
			}
			parentCode := ""
			if p, ok := tc.f.ItemByID(it.Parent); ok {
				parentCode = p.HumanCodingScheme
			}
			if wantParent, _ := n["parent"].(string); parentCode != wantParent {
				t.Errorf("%s: parent %q, want %q", it.HumanCodingScheme, parentCode, wantParent)
			}
		}
	}
}

// TestOfficialMatchesDerivedPackages checks the wording against the
// independently derived CASE packages of the data directory.
func TestOfficialMatchesDerivedPackages(t *testing.T) {
	for key, file := range map[string]string{
		KeyRCPMPE2013: "frameworks/derived/rcpmpe-2013.case-v1p0-cfpackage.json",
		KeyRCPF2015:   "frameworks/derived/rcpf-2015.case-v1p0-cfpackage.json",
	} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		derived, err := ImportCASE(raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		f := officialByKey(t, key)
		if derived.Title != f.Title || len(derived.Items) != len(f.Items) {
			t.Fatalf("%s: %q with %d items, want %q with %d", file, derived.Title, len(derived.Items), f.Title, len(f.Items))
		}
		for i, d := range derived.Items {
			it := f.Items[i]
			if d.HumanCodingScheme != it.HumanCodingScheme || d.FullStatement != it.FullStatement ||
				d.AbbreviatedStatement != it.AbbreviatedStatement || d.Notes != it.Notes || d.CFItemType != it.CFItemType {
				t.Errorf("%s %s differs from the derived package:\n got %#v\nwant %#v", key, it.HumanCodingScheme, it, d)
			}
		}
	}
}

// TestEmbeddedDataIsTheSharedData checks that the copies in frameworks/ are
// the research data, byte for byte, when the shared directory is there.
func TestEmbeddedDataIsTheSharedData(t *testing.T) {
	shared := filepath.Join("..", "..", "shared", "data", "frameworks")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no shared data directory: %v", err)
	}
	for _, name := range []string{file2013, file2015,
		"derived/rcpmpe-2013.case-v1p0-cfpackage.json", "derived/rcpf-2015.case-v1p0-cfpackage.json",
		"derived/rcpmpe-2013.moodle-lpimportcsv.csv", "derived/rcpf-2015.moodle-lpimportcsv.csv"} {
		want, err := os.ReadFile(filepath.Join(shared, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("frameworks", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("frameworks/%s differs from %s", name, filepath.Join(shared, name))
		}
	}
}

func TestIdentifiersAreStable(t *testing.T) {
	a, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls of Official differ")
	}

	// The namespace is what its comment says.
	if got := uuid5(nameSpaceURL, "https://github.com/insigne/insigne/competency"); got != namespace {
		t.Errorf("namespace = %s, want %s", namespace, got)
	}
	// RFC 9562, appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace.
	if got := uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"); got != "2ed6657d-e927-568b-95e1-2665a8aea6a2" {
		t.Errorf("uuid5 test vector = %s", got)
	}

	// Golden identifiers, computed outside Go with Python's uuid module:
	//
	//	ns  = uuid5(NAMESPACE_URL, "https://github.com/insigne/insigne/competency")
	//	doc = uuid5(ns, "rcpmpe-2013")   # 50e9eab2-1917-5b35-9e54-cc9277c0a972
	//	cc1 = uuid5(doc, "CC1")          # 06fda6c5-ad51-5d9c-b61f-08cbe1146296
	//
	// Changing them breaks every badge aligned to the frameworks.
	f := officialByKey(t, KeyRCPMPE2013)
	if f.Identifier != "50e9eab2-1917-5b35-9e54-cc9277c0a972" {
		t.Errorf("2013 framework identifier %s", f.Identifier)
	}
	if it := mustItem(t, f, "CC1"); it.Identifier != "06fda6c5-ad51-5d9c-b61f-08cbe1146296" {
		t.Errorf("CC1 identifier %s, want 06fda6c5-ad51-5d9c-b61f-08cbe1146296", it.Identifier)
	}
	if got := ItemID(DocumentID(KeyRCPF2015), "F1.5"); got != mustItem(t, officialByKey(t, KeyRCPF2015), "F1.5").Identifier {
		t.Errorf("ItemID(F1.5) = %s, not the identifier of F1.5", got)
	}
	if ItemID("not a uuid", "x") != "" {
		t.Error("ItemID with a bad framework id should be empty")
	}
}

func TestLookups(t *testing.T) {
	f := officialByKey(t, KeyRCPMPE2013)
	cc6 := mustItem(t, f, "CC6")
	if _, ok := f.Item("CC15"); ok {
		t.Error("CC15 found")
	}
	if _, ok := f.Item(""); ok {
		t.Error("the empty code found an item")
	}
	if got, ok := f.ItemByID(cc6.Identifier); !ok || got.HumanCodingScheme != "CC6" {
		t.Errorf("ItemByID(CC6) = %v, %v", got, ok)
	}
	g2 := mustItem(t, f, "CC-G2")
	if cc6.Parent != g2.Identifier {
		t.Errorf("CC6 parent %s, want CC-G2 %s", cc6.Parent, g2.Identifier)
	}
	var kids []string
	for _, it := range f.Children(cc6.Identifier) {
		kids = append(kids, it.HumanCodingScheme)
	}
	if got := strings.Join(kids, " "); !strings.HasPrefix(got, "CC6.1 CC6.2 CC6.3 CC6.4 CC6.5") {
		t.Errorf("children of CC6: %s", got)
	}
	var top []string
	for _, it := range f.Children("") {
		top = append(top, it.HumanCodingScheme)
	}
	if got := strings.Join(top, " "); got != "CC P D CPE" {
		t.Errorf("top level: %s, want CC P D CPE", got)
	}
}

func BenchmarkOfficial(b *testing.B) {
	for b.Loop() {
		if _, err := Official(); err != nil {
			b.Fatal(err)
		}
	}
}
