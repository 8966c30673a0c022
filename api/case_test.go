package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/store/storetest"
)

// The official frameworks are served as CASE, and the targetUrl of an
// alignment built for an item resolves to that item.
func TestCASEEndpoints(t *testing.T) {
	official, err := competency.Official()
	if err != nil {
		t.Fatal(err)
	}
	var base string
	ts := newTestServer(t, storetest.SQLite(t), func(b string, c *api.Config) {
		base = b
		c.Frameworks, c.BaseURL = official, b
	})
	get := func(url string, want int) []byte {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, want, b)
		}
		return b
	}
	var docs struct {
		CFDocuments []struct{ Identifier, Title string }
	}
	json.Unmarshal(get(ts.URL+"/ims/case/v1p0/CFDocuments", 200), &docs)
	if len(docs.CFDocuments) != 2 {
		t.Fatalf("%d documents", len(docs.CFDocuments))
	}
	found := 0
	for _, f := range official {
		for _, code := range []string{"CC14", "F1", "F1.5"} {
			item, ok := f.Item(code)
			if !ok {
				continue
			}
			found++
			al := competency.Alignment(f, item, base)
			var got struct{ Identifier, FullStatement, HumanCodingScheme string }
			json.Unmarshal(get(al.TargetURL, 200), &got)
			if got.Identifier != item.Identifier || got.FullStatement != item.FullStatement || got.HumanCodingScheme != code {
				t.Errorf("%s at %s: %+v", code, al.TargetURL, got)
			}
		}
		pkg := get(ts.URL+"/ims/case/v1p0/CFPackages/"+f.Identifier, 200)
		back, err := competency.ImportCASE(pkg)
		if err != nil {
			t.Fatalf("the served package does not import: %v", err)
		}
		if !reflect.DeepEqual(back.Items, f.Items) {
			t.Errorf("%s: the served package differs from the framework", f.Title)
		}
		get(ts.URL+"/ims/case/v1p0/CFDocuments/"+f.Identifier, 200)
	}
	if found < 2 {
		t.Fatalf("only %d of the items looked up exist", found)
	}
	var status struct {
		ImsxCodeMajor string `json:"imsx_codeMajor"`
	}
	json.Unmarshal(get(ts.URL+"/ims/case/v1p0/CFItems/00000000-0000-4000-8000-000000000000", 404), &status)
	if status.ImsxCodeMajor != "failure" {
		t.Errorf("unknown item: %+v", status)
	}
}
