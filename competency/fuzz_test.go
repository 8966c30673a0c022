package competency

import (
	"errors"
	"os"
	"testing"
)

// The fuzz targets check that the importers never panic, refuse with an
// *InputError, and that whatever they accept survives a round trip: export
// then import gives the same framework, through CASE and through a Moodle
// CSV.
//
// The seeds include the official frameworks, some hundred kilobytes each:
// cap the minimization of new inputs or it takes the whole run, e.g.
//
//	go test ./competency -run '^$' -fuzz '^FuzzImportCASE$' -fuzztime 30s -fuzzminimizetime 2s

func FuzzImportCASE(f *testing.F) {
	fs, err := Official()
	if err != nil {
		f.Fatal(err)
	}
	for _, fw := range fs {
		data, err := ExportCASE(fw, testBase)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, file := range []string{"frameworks/derived/rcpf-2015.case-v1p0-cfpackage.json"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	small := `{"CFDocument":{"identifier":"` + uD + `","title":"T"},"CFItems":[{"identifier":"` + uA + `","fullStatement":"A","humanCodingScheme":"A"},` +
		`{"identifier":"` + uB + `","fullStatement":"B"}],"CFAssociations":[{"identifier":"` + uX1 + `","associationType":"isChildOf",` +
		`"originNodeURI":{"identifier":"` + uB + `"},"destinationNodeURI":{"identifier":"` + uA + `"}},{"identifier":"` + uX2 + `","associationType":"isRelatedTo",` +
		`"originNodeURI":{"identifier":"` + uA + `"},"destinationNodeURI":{"identifier":"x","uri":"https://o.example/x","title":"X"}}]}`
	f.Add([]byte(small))
	f.Add([]byte(`{"CFDocument":{"identifier":"` + uD + `","title":"T"}}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		fw, err := ImportCASE(data)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *InputError", err)
			}
			return
		}
		out, err := ExportCASE(fw, testBase)
		if err != nil {
			t.Fatalf("an imported framework does not export: %v", err)
		}
		again, err := ImportCASE(out)
		if err != nil {
			t.Fatalf("an exported package does not import: %v", err)
		}
		if d := frameworkDiff(again, fw); d != "" {
			t.Fatalf("import(export(f)) != f: %s", d)
		}
		// Through a Moodle CSV, what a CSV carries must survive, and the
		// file must be one Insigne reads back the same.
		csvData, err := ExportMoodleCSV(fw)
		if err != nil {
			t.Fatalf("an imported framework does not export to CSV: %v", err)
		}
		viaCSV, err := ImportMoodleCSV(csvData)
		if err != nil {
			t.Fatalf("an exported CSV does not import: %v\n%s", err, csvData)
		}
		checkCSVFixpoint(t, viaCSV)
	})
}

func FuzzImportMoodleCSV(f *testing.F) {
	fs, err := Official()
	if err != nil {
		f.Fatal(err)
	}
	for _, fw := range fs {
		data, err := ExportMoodleCSV(fw)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(moodleExport))
	for _, file := range []string{"frameworks/derived/rcpf-2015.moodle-lpimportcsv.csv"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(moodleFile(row("", "A", colRelated, "B"), row("A", "B", colExportID, "2"), row("", "C", colDescription, "<p>x &amp; <b>y</b></p>"))))

	f.Fuzz(func(t *testing.T, data []byte) {
		fw, err := ImportMoodleCSV(data)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *InputError", err)
			}
			return
		}
		checkCSVFixpoint(t, fw)
		// Through CASE, everything but the Moodle cells survives.
		out, err := ExportCASE(fw, testBase)
		if err != nil {
			t.Fatalf("an imported framework does not export to CASE: %v", err)
		}
		viaCASE, err := ImportCASE(out)
		if err != nil {
			t.Fatalf("an exported package does not import: %v", err)
		}
		if d := frameworkDiff(viaCASE, withoutMoodle(fw)); d != "" {
			t.Fatalf("CASE round trip: %s", d)
		}
	})
}

// checkCSVFixpoint checks that a framework read from a CSV is read back the
// same from its export, and that the second export is the first.
func checkCSVFixpoint(t *testing.T, fw Framework) {
	t.Helper()
	out, err := ExportMoodleCSV(fw)
	if err != nil {
		t.Fatalf("an imported framework does not export: %v", err)
	}
	again, err := ImportMoodleCSV(out)
	if err != nil {
		t.Fatalf("an exported CSV does not import: %v\n%s", err, out)
	}
	if d := frameworkDiff(again, fw); d != "" {
		t.Fatalf("import(export(f)) != f: %s", d)
	}
	out2, err := ExportMoodleCSV(again)
	if err != nil || string(out2) != string(out) {
		t.Fatalf("a second export differs (%v):\n%s", err, lineDiff(string(out2), string(out)))
	}
}
