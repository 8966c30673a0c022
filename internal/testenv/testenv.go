// Package testenv decides what a test does when something it needs from the
// machine (PostgreSQL, Node.js, Chromium) is missing.
//
// On a developer's machine such a test skips with a message that says what is
// missing. When INSIGNE_TEST_STRICT is set (CI sets it), the same test fails
// instead, so that a green CI run always means every test really ran.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// StrictEnv is the environment variable that turns skips into failures.
const StrictEnv = "INSIGNE_TEST_STRICT"

// Strict reports whether missing test dependencies must fail the test.
func Strict() bool {
	v := os.Getenv(StrictEnv)
	return v != "" && v != "0" && v != "false"
}

// Skip skips the test with the reason, or fails it in strict mode.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("required in strict mode ("+StrictEnv+"): "+format, args...)
	}
	t.Skipf(format, args...)
}

// LookPath returns the path of an executable, or skips (fails in strict
// mode) when it cannot be found.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s not found on PATH: %v", name, err)
	}
	return p
}
