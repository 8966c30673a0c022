package api_test

import (
	"strings"
	"testing"

	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/store/storetest"
)

// TestBackpackImportLimits: JSON that is no credential at all is refused
// with 422 naming the problem, and a learner's imports stop at the quota
// with 409; neither stores anything.
func TestBackpackImportLimits(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			b := newBPServer(t, be.DSN(t), func(c *backpack.Config) { c.MaxImported = 2 })
			for _, in := range []string{`{"x":1}`, `{"type":"Thing","name":"n"}`, `{"@context":"https://schema.org/","type":"Person"}`} {
				res := b.do(t, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: []byte(in), ContentType: "application/json"})
				wantError(t, in, res, 422, "not_a_credential", "")
				if !strings.Contains(res.String(), "@context") {
					t.Errorf("%s: %s does not name what is missing", in, res)
				}
			}
			if _, total := b.list(t, b.AnneS); total != 0 {
				t.Fatalf("refused imports stored %d items", total)
			}
			// An invalid credential is still kept, with its report.
			b.must(t, 201, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: readValidator(t, "simple-err-type.json"), ContentType: "application/json"})
			b.must(t, 201, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: readValidator(t, "simple.json"), ContentType: "application/json"})
			res := b.do(t, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: readValidator(t, "simple.json"), ContentType: "application/json"})
			wantError(t, "over the quota", res, 409, "quota_exceeded", "")
			if !strings.Contains(res.String(), "2 imported credentials") {
				t.Errorf("quota: %s does not say how many", res)
			}
			if _, total := b.list(t, b.AnneS); total != 2 {
				t.Fatalf("after the quota Anne holds %d, want 2", total)
			}
		})
	}
}
