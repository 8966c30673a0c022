package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// /metrics carries the database pool: its size, and how often requests
// waited for a connection.
func TestPoolMetrics(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		r := ts.must(t, http.StatusOK, http.MethodGet, "/metrics", req{Bearer: ts.Root})
		body := string(r.Body)
		want := fmt.Sprintf("insigne_db_connections_max %d\n", ts.DB.Stats().MaxOpenConnections)
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
		for _, name := range []string{"insigne_db_connections_in_use ", "insigne_db_connection_waits_total ", "insigne_db_connection_wait_seconds_total "} {
			if !strings.Contains(body, "\n"+name) {
				t.Errorf("/metrics lacks %s", name)
			}
		}
	})
}
