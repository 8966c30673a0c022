package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A scenario of several operations is reported per operation, so that each
// operation's target can be read off the report; a scenario of one is not.
func TestSummarizePerOperation(t *testing.T) {
	var samples []sample
	var sent, dropped [numOps]int
	for i := range 100 {
		samples = append(samples, sample{op: opGet, status: 200, latency: time.Duration(i+1) * time.Millisecond})
		sent[opGet]++
	}
	for range 10 {
		samples = append(samples, sample{op: opBackpack, status: 500, latency: 50 * time.Millisecond})
		sent[opBackpack]++
	}
	res := summarize("full", config{rate: 110}, samples, sent, dropped, time.Second)
	if len(res.ByOperation) != 2 {
		t.Fatalf("ByOperation has %d operations, want get and backpack: %v", len(res.ByOperation), res.ByOperation)
	}
	get, bp := res.ByOperation["get"], res.ByOperation["backpack"]
	if get == nil || bp == nil {
		t.Fatalf("missing get or backpack in %v", res.ByOperation)
	}
	if get.OK != 100 || get.Errors != 0 || bp.Errors != 10 || bp.OK != 0 {
		t.Errorf("get ok %d errors %d, backpack ok %d errors %d", get.OK, get.Errors, bp.OK, bp.Errors)
	}
	if get.Latency.P99 < 98 || get.Latency.P99 > 100 {
		t.Errorf("get p99 %.1f ms, want about 99", get.Latency.P99)
	}
	var out bytes.Buffer
	res.print(&out)
	if !strings.Contains(out.String(), "  backpack ") || strings.Contains(out.String(), "  award ") {
		t.Errorf("report lists the wrong operations:\n%s", out.String())
	}

	var one [numOps]int
	one[opGet] = 100
	if res := summarize("get", config{rate: 100}, samples[:100], one, dropped, time.Second); res.ByOperation != nil {
		t.Errorf("a one-operation scenario reported per operation: %v", res.ByOperation)
	}
}
