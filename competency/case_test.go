package competency

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestCASERoundTripOfficial(t *testing.T) {
	fs, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		data, err := ExportCASE(f, testBase)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ImportCASE(data)
		if err != nil {
			t.Fatal(err)
		}
		if d := frameworkDiff(got, f); d != "" {
			t.Errorf("%s: import(export(f)) != f: %s", f.Title, d)
		}
		again, err := ExportCASE(got, testBase)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Errorf("%s: a second export differs from the first", f.Title)
		}
	}
}

func TestCASERoundTripDerivedPackages(t *testing.T) {
	for _, file := range []string{"frameworks/derived/rcpmpe-2013.case-v1p0-cfpackage.json", "frameworks/derived/rcpf-2015.case-v1p0-cfpackage.json"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ImportCASE(raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		// Their identifiers are kept, whatever host they came from.
		var pkg struct{ CFItems []struct{ Identifier string } }
		if err := json.Unmarshal(raw, &pkg); err != nil {
			t.Fatal(err)
		}
		if f.Items[0].Identifier != pkg.CFItems[0].Identifier {
			t.Errorf("%s: first item %s, want %s", file, f.Items[0].Identifier, pkg.CFItems[0].Identifier)
		}
		data, err := ExportCASE(f, testBase)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ImportCASE(data)
		if err != nil {
			t.Fatal(err)
		}
		if d := frameworkDiff(got, f); d != "" {
			t.Errorf("%s: %s", file, d)
		}
	}
}

// TestCASEExportShape checks the package against the CASE 1.0 shapes: the
// properties CASE requires, and uris under {base}/ims/case/v1p0/.
func TestCASEExportShape(t *testing.T) {
	f := officialByKey(t, KeyRCPMPE2013)
	data, err := ExportCASE(f, testBase+"/") // a trailing slash is not doubled
	if err != nil {
		t.Fatal(err)
	}
	var pkg map[string]any
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"CFDocument", "CFItems", "CFAssociations", "CFDefinitions"} {
		if _, ok := pkg[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	require := func(what string, obj map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if v, ok := obj[k]; !ok || v == "" && k != "creator" {
				t.Errorf("%s: %s missing", what, k)
			}
		}
	}
	root := testBase + "/ims/case/v1p0/"
	doc := pkg["CFDocument"].(map[string]any)
	require("CFDocument", doc, "identifier", "uri", "creator", "title", "lastChangeDateTime")
	if doc["uri"] != root+"CFDocuments/"+f.Identifier {
		t.Errorf("CFDocument.uri %v", doc["uri"])
	}
	if doc["lastChangeDateTime"] != "2013-07-18T00:00:00Z" || doc["language"] != "fr" || doc["creator"] != "Ministère de l'éducation nationale" {
		t.Errorf("CFDocument: %v", doc)
	}
	if p := doc["CFPackageURI"].(map[string]any); p["uri"] != root+"CFPackages/"+f.Identifier {
		t.Errorf("CFPackageURI %v", p)
	}

	cc14 := mustItem(t, f, "CC14")
	items := pkg["CFItems"].([]any)
	if len(items) != len(f.Items) {
		t.Fatalf("%d CFItems", len(items))
	}
	for _, x := range items {
		it := x.(map[string]any)
		require("CFItem", it, "identifier", "uri", "fullStatement", "lastChangeDateTime")
		if it["uri"] != root+"CFItems/"+it["identifier"].(string) {
			t.Errorf("CFItem uri %v", it["uri"])
		}
		if it["identifier"] == cc14.Identifier {
			if it["humanCodingScheme"] != "CC14" || it["fullStatement"] != cc14.FullStatement || it["CFItemType"] != "Compétence" {
				t.Errorf("CC14: %v", it)
			}
			typ := it["CFItemTypeURI"].(map[string]any)
			if !strings.HasPrefix(typ["uri"].(string), root+"CFItemTypes/") || typ["title"] != "Compétence" {
				t.Errorf("CC14 CFItemTypeURI %v", typ)
			}
		}
	}
	for _, x := range pkg["CFAssociations"].([]any) {
		a := x.(map[string]any)
		require("CFAssociation", a, "identifier", "associationType", "uri", "originNodeURI", "destinationNodeURI", "lastChangeDateTime")
		o := a["originNodeURI"].(map[string]any)
		require("originNodeURI", o, "title", "identifier", "uri")
		if o["identifier"] == cc14.Identifier {
			d := a["destinationNodeURI"].(map[string]any)
			if o["title"] != "CC14" || o["uri"] != root+"CFItems/"+cc14.Identifier || d["title"] != "CC-G3" || a["sequenceNumber"] != 5.0 {
				t.Errorf("CC14 isChildOf: %v", a)
			}
		}
	}
	types := pkg["CFDefinitions"].(map[string]any)["CFItemTypes"].([]any)
	if len(types) != 4 {
		t.Errorf("%d CFItemTypes, want 4", len(types))
	}
	for _, x := range types {
		require("CFItemType", x.(map[string]any), "identifier", "uri", "title", "hierarchyCode", "lastChangeDateTime")
	}

	if _, err := ExportCASE(f, "insigne.example"); err == nil {
		t.Error("a base URL without a scheme was accepted")
	}
	bad := f
	bad.Identifier = "nope"
	if _, err := ExportCASE(bad, testBase); err == nil {
		t.Error("an invalid framework was exported")
	}
}

// A small package to break in every way.
const (
	uD  = "11111111-1111-4111-8111-111111111111"
	uA  = "22222222-2222-4222-8222-222222222222"
	uB  = "33333333-3333-4333-8333-333333333333"
	uX1 = "44444444-4444-4444-8444-444444444444"
	uX2 = "55555555-5555-4555-8555-555555555555"
	uX3 = "66666666-6666-4666-8666-666666666666"
)

func smallPackage() map[string]any {
	link := func(id, title string) map[string]any {
		return map[string]any{"identifier": id, "title": title, "uri": "https://case.example/uri/" + id}
	}
	item := func(id, code, text string) map[string]any {
		return map[string]any{"identifier": id, "uri": "https://case.example/uri/" + id, "humanCodingScheme": code,
			"fullStatement": text, "lastChangeDateTime": "2024-03-01T10:00:00+01:00"}
	}
	assoc := func(id, typ string, from, to map[string]any) map[string]any {
		return map[string]any{"identifier": id, "uri": "https://case.example/uri/" + id, "associationType": typ,
			"originNodeURI": from, "destinationNodeURI": to, "lastChangeDateTime": "2024-03-01T09:00:00Z"}
	}
	return map[string]any{
		"CFDocument": map[string]any{"identifier": uD, "uri": "https://case.example/uri/" + uD, "creator": "Académie",
			"title": "Petit référentiel", "lastChangeDateTime": "2024-03-01T09:00:00Z"},
		"CFItems": []any{item(uA, "A", "Compétence A"), item(uB, "A.1", "Composante A.1")},
		"CFAssociations": []any{
			assoc(uX1, "isChildOf", link(uA, "A"), link(uD, "Petit référentiel")),
			assoc(uX2, "isChildOf", link(uB, "A.1"), link(uA, "A")),
		},
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportCASESmall(t *testing.T) {
	f, err := ImportCASE(marshal(t, smallPackage()))
	if err != nil {
		t.Fatal(err)
	}
	b := mustItem(t, f, "A.1")
	if b.Parent != uA || mustItem(t, f, "A").Parent != "" {
		t.Errorf("parents: %q %q", b.Parent, mustItem(t, f, "A").Parent)
	}
	if got := b.LastChangeDateTime.Format("2006-01-02T15:04:05Z07:00"); got != "2024-03-01T09:00:00Z" {
		t.Errorf("lastChangeDateTime in UTC: %s", got)
	}

	// Upper-case UUIDs are read in lower case; a node elsewhere is kept
	// with its uri; an item without isChildOf is at the top; a type known
	// only by its link gets a definition.
	p := smallPackage()
	p["CFDocument"].(map[string]any)["identifier"] = strings.ToUpper(uD)
	items := p["CFItems"].([]any)
	items[1].(map[string]any)["CFItemTypeURI"] = map[string]any{"identifier": uX3, "title": "Composante", "uri": "https://case.example/t"}
	p["CFItems"] = append(items, map[string]any{"identifier": "77777777-7777-4777-8777-777777777777", "fullStatement": "Orpheline"})
	p["CFAssociations"] = append(p["CFAssociations"].([]any), map[string]any{
		"identifier": "88888888-8888-4888-8888-888888888888", "associationType": "exactMatchOf",
		"originNodeURI":      map[string]any{"identifier": uB, "title": "A.1", "uri": "x"},
		"destinationNodeURI": map[string]any{"identifier": "elsewhere-1", "title": "Ailleurs", "uri": "https://other.example/CFItems/elsewhere-1"},
	})
	f, err = ImportCASE(marshal(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if f.Identifier != uD {
		t.Errorf("identifier %s", f.Identifier)
	}
	if it := mustItem(t, f, "A.1"); it.CFItemType != "Composante" || len(f.ItemTypes) != 1 || f.ItemTypes[0].Identifier != uX3 {
		t.Errorf("item type %q, definitions %v", it.CFItemType, f.ItemTypes)
	}
	if it, _ := f.ItemByID("77777777-7777-4777-8777-777777777777"); it.Parent != "" {
		t.Errorf("orphan parent %q", it.Parent)
	}
	ext := f.Associations[2].Destination
	if ext != (NodeRef{Identifier: "elsewhere-1", Title: "Ailleurs", URI: "https://other.example/CFItems/elsewhere-1"}) {
		t.Errorf("external node %#v", ext)
	}
	data, err := ExportCASE(f, testBase)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"uri": "https://other.example/CFItems/elsewhere-1"`)) {
		t.Error("the external uri was not exported")
	}
	g, err := ImportCASE(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := frameworkDiff(g, f); d != "" {
		t.Error(d)
	}
}

func TestImportCASERefuses(t *testing.T) {
	type pkg = map[string]any
	doc := func(p pkg) pkg { return p["CFDocument"].(pkg) }
	item := func(p pkg, i int) pkg { return p["CFItems"].([]any)[i].(pkg) }
	assoc := func(p pkg, i int) pkg { return p["CFAssociations"].([]any)[i].(pkg) }
	addAssoc := func(p pkg, id, typ, from, to string) {
		p["CFAssociations"] = append(p["CFAssociations"].([]any), pkg{"identifier": id, "associationType": typ,
			"originNodeURI": pkg{"identifier": from}, "destinationNodeURI": pkg{"identifier": to}})
	}
	for _, tc := range []struct {
		name   string
		mutate func(pkg)
		want   string
	}{
		{"no document", func(p pkg) { delete(p, "CFDocument") }, "CFDocument: missing"},
		{"document without identifier", func(p pkg) { delete(doc(p), "identifier") }, "CFDocument.identifier: missing"},
		{"document identifier not a UUID", func(p pkg) { doc(p)["identifier"] = "doc-1" }, `CFDocument.identifier: "doc-1" is not a UUID`},
		{"document without title", func(p pkg) { doc(p)["title"] = " " }, "CFDocument.title: missing"},
		{"item without identifier", func(p pkg) { delete(item(p, 1), "identifier") }, "CFItems[1].identifier: missing"},
		{"item identifier not a UUID", func(p pkg) { item(p, 1)["identifier"] = "A.1" }, `CFItems[1].identifier: "A.1" is not a UUID`},
		{"duplicate item identifier", func(p pkg) { item(p, 1)["identifier"] = uA }, "CFItems[1].identifier: " + uA + " is also the identifier of CFItems[0]"},
		{"item with the document's identifier", func(p pkg) { item(p, 0)["identifier"] = uD }, "CFItems[0].identifier: " + uD + " is also the identifier of CFDocument"},
		{"association with an item's identifier", func(p pkg) { assoc(p, 1)["identifier"] = strings.ToUpper(uB) }, "CFAssociations[1].identifier: " + uB + " is also the identifier of CFItems[1]"},
		{"association without identifier", func(p pkg) { delete(assoc(p, 0), "identifier") }, "CFAssociations[0].identifier: missing"},
		{"item without statement", func(p pkg) { delete(item(p, 0), "fullStatement") }, "CFItems[0].fullStatement: missing (item " + uA + ")"},
		{"unknown association type", func(p pkg) { assoc(p, 0)["associationType"] = "isParentOf" }, `CFAssociations[0].associationType: "isParentOf" is not one of`},
		{"association without origin", func(p pkg) { delete(assoc(p, 1), "originNodeURI") }, "CFAssociations[1].originNodeURI: missing"},
		{"association end without identifier", func(p pkg) { delete(assoc(p, 1)["destinationNodeURI"].(pkg), "identifier") }, "CFAssociations[1].destinationNodeURI.identifier: missing"},
		{"association pointing nowhere", func(p pkg) { addAssoc(p, uX3, "isRelatedTo", uA, "99999999-9999-4999-8999-999999999999") },
			"CFAssociations[2].destinationNodeURI: 99999999-9999-4999-8999-999999999999 is neither an item of this package nor the document, and has no absolute uri: it points nowhere"},
		{"association with a relative uri", func(p pkg) {
			addAssoc(p, uX3, "isRelatedTo", uA, "elsewhere")
			assoc(p, 2)["destinationNodeURI"].(pkg)["uri"] = "/CFItems/elsewhere"
		}, "CFAssociations[2].destinationNodeURI: elsewhere is neither"},
		{"isChildOf leaving the package", func(p pkg) {
			assoc(p, 1)["destinationNodeURI"] = pkg{"identifier": "elsewhere", "title": "x", "uri": "https://other.example/x"}
		}, "CFAssociations[1].destinationNodeURI: isChildOf to elsewhere, which is not in this package"},
		{"isChildOf from the document", func(p pkg) { addAssoc(p, uX3, "isChildOf", uD, uA) }, "CFAssociations[2].originNodeURI: isChildOf from " + uD + ", which is not an item"},
		{"isChildOf cycle", func(p pkg) { addAssoc(p, uX3, "isChildOf", uA, uB) }, "isChildOf cycle: item " + uA + " (A) → item " + uB + " (A.1) → item " + uA + " (A)"},
		{"isChildOf loop on itself", func(p pkg) { addAssoc(p, uX3, "isChildOf", uA, uA) }, "origin and destination are the same node " + uA},
		{"repeated association", func(p pkg) { addAssoc(p, uX3, "isChildOf", uB, uA) }, "association 2 (" + uX3 + "): repeats association 1 (" + uX2 + ")"},
		{"bad date", func(p pkg) { item(p, 0)["lastChangeDateTime"] = "1er mars 2024" }, `CFItems[0].lastChangeDateTime: "1er mars 2024" is not a date-time`},
		{"wrong JSON type", func(p pkg) { item(p, 0)["fullStatement"] = 5 }, "CFItems.fullStatement: is a JSON number, want a string"},
		{"wrong sequence type", func(p pkg) { assoc(p, 0)["sequenceNumber"] = "1" }, "CFAssociations.sequenceNumber: is a JSON string, want a int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := smallPackage()
			tc.mutate(p)
			_, err := ImportCASE(marshal(t, p))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v, want an *InputError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
			if errors.Is(err, ErrTooLarge) {
				t.Error("not a size error")
			}
		})
	}

	for name, tc := range map[string]struct{ data, want string }{
		"empty":         {"", "CFPackage: empty input"},
		"not JSON":      {"CFPackage", "byte 1: invalid JSON"},
		"truncated":     {`{"CFDocument":{`, "CFPackage: truncated JSON"},
		"trailing data": {string(marshal(t, smallPackage())) + `{}`, "CFPackage: unexpected data after the package"},
		"an array":      {`[]`, "CFPackage: is a JSON array"},
		"null":          {`null`, "CFDocument: missing"},
	} {
		if _, err := ImportCASE([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

func TestImportCASESizeCaps(t *testing.T) {
	_, err := ImportCASE(make([]byte, MaxImportBytes+1))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 16777216") {
		t.Errorf("17 MiB: %v", err)
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `{"CFDocument":{"identifier":%q,"title":"Grand"},"CFItems":[`, uD)
	for i := range MaxItems + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"identifier":"%08x-0000-4000-8000-000000000000","fullStatement":"x"}`, i)
	}
	b.WriteString(`]}`)
	_, err = ImportCASE(b.Bytes())
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "CFItems: 50001 items, more than 50000") {
		t.Errorf("50,001 items: %v", err)
	}
}

// TestCASELeavesMoodleOut: a framework read from a Moodle CSV goes through
// CASE whole, except the Moodle cells.
func TestCASELeavesMoodleOut(t *testing.T) {
	f, err := ImportMoodleCSV([]byte(moodleExport))
	if err != nil {
		t.Fatal(err)
	}
	data, err := ExportCASE(f, testBase)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ImportCASE(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := frameworkDiff(got, withoutMoodle(f)); d != "" {
		t.Error(d)
	}
}
