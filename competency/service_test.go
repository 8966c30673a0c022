package competency_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

const base = "https://insigne.example"

// eachStore runs f with a service on SQLite and on PostgreSQL.
func eachStore(t *testing.T, f func(t *testing.T, db *store.DB, s *competency.Service)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db, err := store.Open(context.Background(), b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			f(t, db, competency.NewService(db, base, nil, nil))
		})
	}
}

func derived(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("frameworks/derived/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The official frameworks go into the database and come out through CASE
// and Moodle CSV byte for byte as the in-memory exporters write them: the
// database loses or changes no wording. Seeding twice adds nothing.
func TestOfficialRoundTripThroughStore(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, s *competency.Service) {
		ctx := context.Background()
		for range 2 {
			if err := s.SeedOfficial(ctx); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.Frameworks(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("frameworks: %+v %v", list, err)
		}
		official, _ := competency.Official()
		for _, f := range official {
			vs, err := s.Versions(ctx, f.Identifier)
			if err != nil || len(vs) != 1 || vs[0].Source != competency.SourceOfficial || vs[0].Items != len(f.Items) {
				t.Fatalf("%s: versions %+v %v", f.Title, vs, err)
			}
			wantCASE, _ := competency.ExportCASE(f, base)
			wantCSV, _ := competency.ExportMoodleCSV(f)
			gotCASE, err := s.Export(ctx, f.Identifier, 0, competency.FormatCASE)
			if err != nil || !bytes.Equal(gotCASE, wantCASE) {
				t.Errorf("%s: CASE out of the store differs (%v)", f.Title, err)
			}
			gotCSV, err := s.Export(ctx, f.Identifier, 0, competency.FormatMoodleCSV)
			if err != nil || !bytes.Equal(gotCSV, wantCSV) {
				t.Errorf("%s: Moodle CSV out of the store differs (%v)", f.Title, err)
			}
			// Importing its own exports adds no version: same content.
			for format, data := range map[string][]byte{competency.FormatCASE: gotCASE} {
				rec, created, err := s.Import(ctx, "test", format, data)
				if err != nil || created || rec.Version != 1 {
					t.Errorf("%s: re-import of the %s export: %+v created=%v %v", f.Title, format, rec, created, err)
				}
			}
			// The wording, item by item.
			_, back, err := s.Framework(ctx, f.Identifier, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, it := range f.Items {
				if back.Items[i].FullStatement != it.FullStatement || back.Items[i].HumanCodingScheme != it.HumanCodingScheme {
					t.Fatalf("%s: item %d changed: %q", f.Title, i, back.Items[i].FullStatement)
				}
			}
		}
		// A Moodle CSV carries no document metadata (creator, dates, item
		// types): re-importing the Moodle export of an official framework
		// is a change, a new version whose wording is intact; seeding
		// again restores the full official text as the next version.
		for _, f := range official {
			csv, _ := s.Export(ctx, f.Identifier, 0, competency.FormatMoodleCSV)
			rec, created, err := s.Import(ctx, "test", competency.FormatMoodleCSV, csv)
			if err != nil || !created || rec.Version != 2 {
				t.Fatalf("%s: Moodle re-import: %+v %v %v", f.Title, rec, created, err)
			}
			_, back, _ := s.Framework(ctx, f.Identifier, 2)
			if len(back.Items) != len(f.Items) {
				t.Fatalf("%s: %d items after the Moodle round trip", f.Title, len(back.Items))
			}
			for i, it := range f.Items {
				if back.Items[i].FullStatement != it.FullStatement || back.Items[i].HumanCodingScheme != it.HumanCodingScheme || back.Items[i].Identifier != it.Identifier {
					t.Errorf("%s: item %d changed in the Moodle round trip: %+v", f.Title, i, back.Items[i])
				}
			}
		}
		if err := s.SeedOfficial(ctx); err != nil {
			t.Fatal(err)
		}
		for _, f := range official {
			want, _ := competency.ExportCASE(f, base)
			if got, _ := s.Export(ctx, f.Identifier, 0, competency.FormatCASE); !bytes.Equal(got, want) {
				t.Errorf("%s: seeding again did not restore the official text", f.Title)
			}
			if vs, _ := s.Versions(ctx, f.Identifier); len(vs) != 3 {
				t.Errorf("%s: %d versions, want 3", f.Title, len(vs))
			}
		}
		// The derived files shipped with the data import to the same
		// frameworks as the embedded data (same identifiers and wording).
		for _, name := range []string{"rcpmpe-2013.moodle-lpimportcsv.csv", "rcpf-2015.moodle-lpimportcsv.csv"} {
			f, err := competency.ImportMoodleCSV(derived(t, name))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(f.Items) < 20 {
				t.Errorf("%s: %d items", name, len(f.Items))
			}
		}
	})
}

// A third framework, from Moodle: stored, served in the snapshot, exported
// back byte for byte; changed content is a new version, the same content
// is not.
func TestImportThirdFrameworkVersions(t *testing.T) {
	csv, err := os.ReadFile("../testdata/frameworks/crcn-edu.moodle.csv")
	if err != nil {
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, db *store.DB, s *competency.Service) {
		ctx := context.Background()
		rec, created, err := s.Import(ctx, "test", competency.SniffFormat(csv), csv)
		if err != nil || !created || rec.Version != 1 || rec.Source != competency.FormatMoodleCSV {
			t.Fatalf("import: %+v %v %v", rec, created, err)
		}
		out, err := s.Export(ctx, rec.ID, 0, competency.FormatMoodleCSV)
		if err != nil || !bytes.Equal(out, csv) {
			t.Fatalf("Moodle CSV round trip through the store differs (%v):\n%s", err, out)
		}
		again, created, err := s.Import(ctx, "test", competency.FormatMoodleCSV, csv)
		if err != nil || created || again.Version != 1 {
			t.Fatalf("same file again: %+v %v %v", again, created, err)
		}
		changed := bytes.Replace(csv, []byte("Se connecter à l'ENT."), []byte("Se connecter à l'ENT et à la messagerie."), 1)
		v2, created, err := s.Import(ctx, "test", competency.FormatMoodleCSV, changed)
		if err != nil || !created || v2.Version != 2 || v2.ID != rec.ID {
			t.Fatalf("changed file: %+v %v %v", v2, created, err)
		}
		// Version 1 is kept as it was.
		old, err := s.Export(ctx, rec.ID, 1, competency.FormatMoodleCSV)
		if err != nil || !bytes.Equal(old, csv) {
			t.Errorf("version 1 changed (%v)", err)
		}
		sn, err := s.Latest(ctx)
		if err != nil || len(sn.Frameworks) != 1 || sn.Versions[rec.ID] != 2 {
			t.Fatalf("snapshot: %+v %v", sn, err)
		}
		// The CASE export of a Moodle import is dated by its first import.
		pkg, err := s.Export(ctx, rec.ID, 0, competency.FormatCASE)
		if err != nil {
			t.Fatal(err)
		}
		f, err := competency.ImportCASE(pkg)
		if err != nil || f.LastChangeDateTime.IsZero() || time.Since(f.LastChangeDateTime) > time.Hour {
			t.Errorf("CASE export of the Moodle import: %v, dated %v", err, f.LastChangeDateTime)
		}
		if _, err := s.Export(ctx, "3f0f3b2e-0000-4000-8000-000000000000", 0, competency.FormatCASE); !errors.Is(err, competency.ErrNotFound) {
			t.Errorf("unknown framework: %v", err)
		}
		var in *competency.InputError
		if _, _, err := s.Import(ctx, "test", competency.FormatCASE, []byte(`{"CFDocument":`)); !errors.As(err, &in) {
			t.Errorf("truncated CASE: %v", err)
		}
		if list, _ := s.Frameworks(ctx); len(list) != 1 {
			t.Errorf("a refused import stored something: %+v", list)
		}
	})
}

func TestResolveCodes(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB, s *competency.Service) {
		ctx := context.Background()
		if err := s.SeedOfficial(ctx); err != nil {
			t.Fatal(err)
		}
		f2013, _ := competency.Official()
		cc14, _ := f2013[0].Item("CC14")
		als, err := s.Resolve(ctx, "competencies", []string{"CC14", "F1.5", cc14.Identifier})
		if err != nil {
			t.Fatal(err)
		}
		if len(als) != 2 {
			t.Fatalf("alignments %+v: the repeated CC14 must collapse", als)
		}
		a := als[0]
		if a.TargetType != "CFItem" || a.TargetCode != "CC14" || a.TargetName != cc14.FullStatement || a.TargetURL != base+"/ims/case/v1p0/CFItems/"+cc14.Identifier ||
			!strings.HasPrefix(a.TargetFramework, "Référentiel des compétences professionnelles des métiers du professorat") {
			t.Errorf("CC14: %+v", a)
		}
		if als[1].TargetCode != "F1.5" || !strings.Contains(als[1].TargetFramework, "formateur") {
			t.Errorf("F1.5: %+v", als[1])
		}
		_, err = s.Resolve(ctx, "competencies", []string{"CC1", "ZZ9"})
		var in *competency.InputError
		if !errors.As(err, &in) || in.Where != "competencies[1]" || !strings.Contains(in.Problem, `"ZZ9"`) {
			t.Errorf("unknown code: %v", err)
		}
		// A code two frameworks use must be given by identifier.
		csv := []byte("\"Parent ID number\",\"ID number\",\"Short name\",Description,\"Description format\",\"Scale values\",\"Scale configuration\",\"Rule type (optional)\",\"Rule outcome (optional)\",\"Rule config (optional)\",\"Cross-referenced competency ID numbers\",\"Exported ID (optional)\",\"Is framework\",Taxonomy\n" +
			",AUTRE,\"Autre cadre\",,2,\"A,B\",\"[{\"\"scaleid\"\":\"\"2\"\"},{\"\"id\"\":1,\"\"scaledefault\"\":1,\"\"proficient\"\":1}]\",,,,,,1,competency\n" +
			",CC14,\"Homonyme\",,2,,,,,,,,,\n")
		if _, _, err := s.Import(ctx, "test", competency.FormatMoodleCSV, csv); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Resolve(ctx, "competencies", []string{"CC14"}); !errors.As(err, &in) || !strings.Contains(in.Problem, "several frameworks") {
			t.Errorf("ambiguous code: %v", err)
		}
		if als, err := s.Resolve(ctx, "competencies", []string{cc14.Identifier}); err != nil || len(als) != 1 || als[0].TargetName != cc14.FullStatement {
			t.Errorf("by identifier: %+v %v", als, err)
		}
	})
}

func TestLevelResult(t *testing.T) {
	rds := []badges.ResultDescription{
		{ID: "urn:uuid:1", Name: "Note", ResultType: "ScaledScore"},
		{ID: "urn:uuid:2", Name: "Niveau", ResultType: "RubricCriterionLevel", RubricCriterionLevel: []badges.RubricCriterionLevel{
			{ID: "urn:uuid:2a", Name: "Débutant"}, {ID: "urn:uuid:2b", Name: "Confirmé", Level: "B"}, {ID: "urn:uuid:2c", Name: "Expert"}}},
	}
	al := []badges.Alignment{{TargetCode: "CC14"}}
	for _, c := range []struct{ rd, level, want, err string }{
		{"", "Confirmé", "urn:uuid:2b", ""},
		{"", "confirmé", "urn:uuid:2b", ""},
		{"", "urn:uuid:2c", "urn:uuid:2c", ""},
		{"", "b", "urn:uuid:2b", ""},
		{"urn:uuid:2", "Expert", "urn:uuid:2c", ""},
		{"", "Génial", "", `level: "Génial" is not a level of "Niveau": one of "Débutant", "Confirmé", "Expert"`},
		{"", "", "", "level: is required"},
		{"urn:uuid:1", "Expert", "", "resultDescription:"},
	} {
		r, err := competency.LevelResult(rds, c.rd, c.level, al)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q/%q: %v, want %q", c.rd, c.level, err, c.err)
			}
			continue
		}
		if err != nil || r.AchievedLevel != c.want || r.ResultDescription != "urn:uuid:2" || len(r.Alignment) != 1 || r.Type[0] != "Result" {
			t.Errorf("%q/%q: %+v %v", c.rd, c.level, r, err)
		}
	}
	if _, err := competency.LevelResult(rds[:1], "", "x", al); err == nil || !strings.Contains(err.Error(), "has no scale") {
		t.Errorf("no scale: %v", err)
	}
}
