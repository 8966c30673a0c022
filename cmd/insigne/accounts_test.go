package main

import (
	"strings"
	"testing"
)

func TestAccountsCommand(t *testing.T) {
	data := t.TempDir()
	code, out, stderr := insigne(t, "", "accounts", "sweep", "--data", data)
	if code != 0 || !strings.Contains(out, "suspended 0") {
		t.Fatalf("sweep of an empty instance: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := insigne(t, "", "accounts", "reinstate", "--data", data, "nobody@example.org"); code != 2 || !strings.Contains(stderr, "not found") {
		t.Fatalf("reinstate an unknown account: %d %s", code, stderr)
	}
	if code, _, _ := insigne(t, "", "accounts", "delete"); code != 2 {
		t.Fatalf("unknown subcommand: %d", code)
	}
}
