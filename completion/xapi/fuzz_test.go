package xapi_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/completion/xapi/xapitest"
)

// FuzzParse: any body gives statements or an *Error (or ErrTooLarge),
// never a panic; an accepted statement names a learner's address and
// survives a round trip through its stored JSON with the same hash and
// the same completion.
func FuzzParse(f *testing.F) {
	f.Add(xapitest.JSON(xapitest.CourseCompleted(xapitest.UUID(1), site, 42, "Cours", ana, t0)))
	f.Add(xapitest.JSON([]any{
		xapitest.ModuleCompleted(xapitest.UUID(2), site, 42, 7, "quiz", "Module", ana, t0),
		xapitest.CourseCompleted("", site, 42, "Cours", xapitest.Learner{Email: "x@y.fr", UserID: "x@y.fr"}, t0),
	}))
	s := xapitest.CourseCompleted(xapitest.UUID(3), site, 42, "C", ana, t0)
	s["verb"] = map[string]any{"id": xapi.VerbPassed}
	s["result"] = map[string]any{"score": map[string]any{"raw": 15, "min": 0, "max": 20}, "success": true, "duration": "PT2H30M"}
	f.Add(xapitest.JSON(s))
	f.Add([]byte(`{"actor":{"mbox_sha1sum":"x"}}`))
	f.Add([]byte(`[{"id":"x"},null,1]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sts, err := xapi.Parse(body, opts)
		if err != nil {
			var e *xapi.Error
			if !errors.As(err, &e) && !errors.Is(err, xapi.ErrTooLarge) {
				t.Fatalf("error %v is neither *xapi.Error nor ErrTooLarge", err)
			}
			return
		}
		for _, st := range sts {
			if !xapi.IsUUID(st.ID) || st.Completion.Learner.Email == "" || st.Completion.Activity.ID == "" {
				t.Fatalf("accepted %+v", st)
			}
			again, err := xapi.Parse(st.JSON, opts)
			if err != nil {
				t.Fatalf("stored JSON %s does not parse: %v", st.JSON, err)
			}
			if again[0].Hash != st.Hash || !reflect.DeepEqual(again[0].Completion, st.Completion) {
				t.Fatalf("round trip changed %+v into %+v", st, again[0])
			}
		}
	})
}
