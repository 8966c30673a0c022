package api_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/lifecycle"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// Routes are registered busiest first (api.New), which is only safe while
// no route answers a path meant for another. For every route and method,
// one path built from its template must reach that route and no other.
// One sample per route catches a variable segment registered before a
// literal one and repeated templates; two patterns that overlap only on
// some values ({n:[0-9]+} before {name}) would need a sample of each.
func TestNoRouteShadowsAnother(t *testing.T) {
	var cfg api.Config
	newTestServer(t, storetest.SQLite(t), func(base string, c *api.Config) {
		withPages(t)(base, c)
		c.Lifecycle = lifecycle.New(lifecycle.Config{Store: c.Idempotency.(*store.DB), Forget: c.Auth.ForgetUser})
		cfg = *c
	})
	r, ok := api.New(cfg).(*mux.Router)
	if !ok {
		t.Fatal("api.New does not return a *mux.Router; adapt this test")
	}
	routes := 0
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // a route without a path (none today)
		}
		methods, err := route.GetMethods()
		if err != nil {
			methods = []string{http.MethodGet}
		}
		path := samplePath(t, tpl)
		for _, m := range methods {
			var match mux.RouteMatch
			req := httptest.NewRequest(m, path, nil)
			if !r.Match(req, &match) || match.Route == nil {
				t.Errorf("%s %s (from %s) matches no route", m, path, tpl)
				continue
			}
			if match.Route != route {
				got, _ := match.Route.GetPathTemplate()
				t.Errorf("%s %s is answered by %s, registered before %s", m, path, got, tpl)
			}
		}
		routes++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if routes < 100 {
		t.Errorf("walked %d routes; the full service has more than 100", routes)
	}
}

var routeVar = regexp.MustCompile(`\{([A-Za-z_]+)(?::((?:[^{}]|\{[0-9,]+\})+))?\}`)

// samplePath fills a route template's variables with a value each
// variable's pattern accepts.
func samplePath(t *testing.T, tpl string) string {
	return routeVar.ReplaceAllStringFunc(tpl, func(v string) string {
		m := routeVar.FindStringSubmatch(v)
		if m[2] == "" {
			return "sample-" + m[1]
		}
		re := regexp.MustCompile("^(?:" + m[2] + ")$")
		candidates := append(strings.Split(m[2], "|"), "1", strings.Repeat("a", 64))
		for _, c := range candidates {
			if re.MatchString(c) {
				return c
			}
		}
		t.Fatalf("no sample value for %s in %s", v, tpl)
		return ""
	})
}
