package competency

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

const testBase = "https://insigne.example"

func officialByKey(t testing.TB, key string) Framework {
	t.Helper()
	fs, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Identifier == DocumentID(key) {
			return f
		}
	}
	t.Fatalf("no official framework %s", key)
	return Framework{}
}

func mustItem(t testing.TB, f Framework, code string) Item {
	t.Helper()
	it, ok := f.Item(code)
	if !ok {
		t.Fatalf("no item %s in %s", code, f.Title)
	}
	return it
}

// withoutMoodle is f as CASE carries it: without the Moodle-only cells.
func withoutMoodle(f Framework) Framework {
	f.Moodle = nil
	f.Items = slices.Clone(f.Items)
	for i := range f.Items {
		f.Items[i].Moodle = nil
	}
	return f
}

// csvCarried is f as a Moodle CSV carries it: the document metadata, item
// types, list enumerations, languages, alternative labels and dates have no
// column there.
func csvCarried(f Framework) Framework {
	f.Creator, f.Publisher, f.Language, f.Version, f.AdoptionStatus = "", "", "", "", ""
	f.StatusStartDate, f.StatusEndDate, f.OfficialSourceURL, f.Notes = "", "", "", ""
	f.LastChangeDateTime = time.Time{}
	f.ItemTypes = nil
	f.Items = slices.Clone(f.Items)
	for i := range f.Items {
		it := &f.Items[i]
		it.CFItemType, it.ListEnumeration, it.Language, it.AlternativeLabel = "", "", "", ""
		it.LastChangeDateTime = time.Time{}
	}
	f.Associations = slices.Clone(f.Associations)
	for i := range f.Associations {
		f.Associations[i].LastChangeDateTime = time.Time{}
	}
	return f
}

// frameworkDiff describes the first difference between two frameworks, or
// returns "" when they are deeply equal.
func frameworkDiff(got, want Framework) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	if len(got.Items) != len(want.Items) {
		return fmt.Sprintf("%d items, want %d", len(got.Items), len(want.Items))
	}
	for i := range got.Items {
		if !reflect.DeepEqual(got.Items[i], want.Items[i]) {
			return fmt.Sprintf("item %d:\n got %#v\nwant %#v", i, got.Items[i], want.Items[i])
		}
	}
	if len(got.Associations) != len(want.Associations) {
		return fmt.Sprintf("%d associations, want %d", len(got.Associations), len(want.Associations))
	}
	for i := range got.Associations {
		if !reflect.DeepEqual(got.Associations[i], want.Associations[i]) {
			return fmt.Sprintf("association %d:\n got %#v\nwant %#v", i, got.Associations[i], want.Associations[i])
		}
	}
	if !reflect.DeepEqual(got.ItemTypes, want.ItemTypes) {
		return fmt.Sprintf("item types:\n got %#v\nwant %#v", got.ItemTypes, want.ItemTypes)
	}
	got.Items, want.Items, got.Associations, want.Associations, got.ItemTypes, want.ItemTypes = nil, nil, nil, nil, nil, nil
	return fmt.Sprintf("framework:\n got %#v\nwant %#v", got, want)
}
