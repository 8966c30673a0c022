// Package interop runs an independent verifier — the Digital Bazaar
// JavaScript stack (@digitalbazaar/vc, data-integrity, eddsa-rdfc-2022) and
// panva/jose — against what Insigne produces. It is for tests only.
//
// The Node.js scripts live in interop/node; their npm packages are pinned in
// interop/node/package-lock.json and installed with `npm ci` on first use.
// JSON-LD contexts come from jsonld/contexts (url-map.json); verification
// methods are resolved offline (did:key, and `<controller>#z6Mk…` URLs whose
// fragment is the key), or over HTTP from the origin given to WithBaseURL.
package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/internal/testenv"
)

// MinNodeMajor is the oldest Node.js major version the harness supports.
const MinNodeMajor = 20

const (
	installTimeout = 10 * time.Minute
	scriptTimeout  = 2 * time.Minute
)

// Runner runs the verifier scripts. The zero value is not usable; get one
// from Node. Runners are immutable; With* methods return modified copies.
type Runner struct {
	node          string // path of the node executable
	dir           string // interop/node
	baseURL       string
	noIssuerCheck bool
}

// install is the one-time `npm ci` per test binary.
var install struct {
	once sync.Once
	err  error
}

// Node returns a runner for the scripts, installing the npm packages (npm ci,
// in interop/node) once per test binary if node_modules is missing or older
// than package-lock.json. When node or npm is missing, too old, or the
// install fails, it calls testenv.Skip (which fails the test when
// INSIGNE_TEST_STRICT is set).
func Node(t testing.TB) *Runner {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Skip(t, "interop: node not found on PATH: %v", err)
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		testenv.Skip(t, "interop: npm not found on PATH: %v", err)
		return nil
	}
	dir, err := scriptsDir()
	if err != nil {
		testenv.Skip(t, "interop: %v", err)
		return nil
	}
	install.once.Do(func() {
		if install.err = checkNodeVersion(node); install.err != nil {
			return
		}
		install.err = ensureInstalled(npm, dir)
	})
	if install.err != nil {
		testenv.Skip(t, "interop: %v", install.err)
		return nil
	}
	return &Runner{node: node, dir: dir}
}

// Dir returns the directory holding the scripts (interop/node).
func (r *Runner) Dir() string { return r.dir }

// WithBaseURL returns a copy of r whose document loader also fetches URLs
// under the origin of u (e.g. an httptest server) over HTTP; key and
// controller documents under that origin are then fetched, not synthesized.
func (r *Runner) WithBaseURL(u string) *Runner {
	c := *r
	c.baseURL = u
	return &c
}

// WithoutIssuerCheck returns a copy of r that verifies DI proofs with the
// plain assertionMethod proof purpose. By default @digitalbazaar/vc also
// requires the verification method's controller to equal the credential's
// issuer id (the W3C vc-di-eddsa test vector does not satisfy that).
func (r *Runner) WithoutIssuerCheck() *Runner {
	c := *r
	c.noIssuerCheck = true
	return &c
}

// VerifyDI verifies a credential with an embedded eddsa-rdfc-2022
// DataIntegrityProof using @digitalbazaar/vc (di-verify.mjs). ok reports
// whether it verified; detail is the verifier's error message (or its full
// output when that cannot be parsed). credentialStatus is not checked.
func (r *Runner) VerifyDI(t testing.TB, credential []byte) (ok bool, detail string) {
	t.Helper()
	args := []string{}
	if r.baseURL != "" {
		args = append(args, "--base-url", r.baseURL)
	}
	if r.noIssuerCheck {
		args = append(args, "--no-issuer-check")
	}
	args = append(args, "-")
	res := r.run(t, "di-verify.mjs", args, credential)
	switch res.code {
	case 0:
		return true, ""
	case 1:
		return false, res.detail()
	case 2:
		return false, "unusable input: " + res.detail()
	}
	t.Fatalf("interop: di-verify.mjs exited %d: %s", res.code, res.detail())
	return false, ""
}

// SignDI signs credential with a DataIntegrityProof (eddsa-rdfc-2022,
// assertionMethod) using the Digital Bazaar stack (di-sign.mjs) and returns
// the signed credential. keyPairJSON holds publicKeyMultibase and
// secretKeyMultibase (or privateKeyMultibase; the legacy 64-byte form works),
// or is an Ed25519 private JWK. created ("" = now) becomes proof.created
// verbatim. Any failure is fatal.
func (r *Runner) SignDI(t testing.TB, keyPairJSON []byte, vm string, created string, credential []byte) []byte {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "keypair.json")
	if err := os.WriteFile(keyFile, keyPairJSON, 0o600); err != nil {
		t.Fatalf("interop: %v", err)
	}
	args := []string{"--key", keyFile, "--vm", vm}
	if created != "" {
		args = append(args, "--created", created)
	}
	args = append(args, "-")
	res := r.run(t, "di-sign.mjs", args, credential)
	if res.code != 0 {
		t.Fatalf("interop: di-sign.mjs exited %d: %s", res.code, res.detail())
	}
	return res.stdout
}

// VerifyJWT verifies a compact JWS with panva/jose (jwt-verify.mjs),
// allowing ES256 and EdDSA. publicJWK is the public key as a JWK; nil means
// the key is taken from the protected header's `jwk`. On success payload is
// the JWS payload. No JWT claim checks are made.
func (r *Runner) VerifyJWT(t testing.TB, token string, publicJWK []byte) (payload []byte, ok bool, detail string) {
	t.Helper()
	args := []string{"--embedded"}
	if publicJWK != nil {
		jwkFile := filepath.Join(t.TempDir(), "jwk.json")
		if err := os.WriteFile(jwkFile, publicJWK, 0o600); err != nil {
			t.Fatalf("interop: %v", err)
		}
		args = []string{"--jwk", jwkFile}
	}
	args = append(args, "-")
	res := r.run(t, "jwt-verify.mjs", args, []byte(token))
	switch res.code {
	case 0:
		return bytes.TrimSpace(res.stdout), true, ""
	case 1:
		return nil, false, res.detail()
	case 2:
		return nil, false, "unusable input: " + res.detail()
	}
	t.Fatalf("interop: jwt-verify.mjs exited %d: %s", res.code, res.detail())
	return nil, false, ""
}

type result struct {
	code           int
	stdout, stderr []byte
}

// detail is the "error" member of the script's JSON output, or the raw
// output when there is none.
func (res result) detail() string {
	var out struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(res.stdout, &out) == nil && out.Error != "" {
		if s := strings.TrimSpace(string(res.stderr)); s != "" {
			return out.Error + " (stderr: " + s + ")"
		}
		return out.Error
	}
	return strings.TrimSpace(string(res.stdout) + "\n" + string(res.stderr))
}

func (r *Runner) run(t testing.TB, script string, args []string, stdin []byte) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.node, append([]string{filepath.Join(r.dir, script)}, args...)...)
	cmd.Dir = r.dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && ctx.Err() == nil:
	default:
		t.Fatalf("interop: running %s: %v\n%s", script, err, stderr.Bytes())
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.Bytes(), stderr: stderr.Bytes()}
}

// scriptsDir finds interop/node next to this source file, or else by walking
// up from the working directory to go.mod.
func scriptsDir() (string, error) {
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "node"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				candidates = append(candidates, filepath.Join(d, "interop", "node"))
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "package-lock.json")); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("cannot find interop/node (tried %v)", candidates)
}

var nodeVersionRE = regexp.MustCompile(`^v(\d+)\.`)

func checkNodeVersion(node string) error {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return fmt.Errorf("node --version: %v", err)
	}
	m := nodeVersionRE.FindSubmatch(bytes.TrimSpace(out))
	if m == nil {
		return fmt.Errorf("node --version: unexpected output %q", out)
	}
	if major, _ := strconv.Atoi(string(m[1])); major < MinNodeMajor {
		return fmt.Errorf("node %s is too old (need >= %d)", bytes.TrimSpace(out), MinNodeMajor)
	}
	return nil
}

// installed reports whether node_modules is present and not older than
// package-lock.json (npm writes node_modules/.package-lock.json).
func installed(dir string) bool {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false
	}
	hidden, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false
	}
	return !hidden.ModTime().Before(lock.ModTime())
}

// ensureInstalled runs `npm ci` in dir unless already installed. A file
// lock serialises test binaries of different packages that start at once.
func ensureInstalled(npm, dir string) error {
	if installed(dir) {
		return nil
	}
	unlock, err := lockFile(filepath.Join(dir, ".npm-install.lock"))
	if err != nil {
		return fmt.Errorf("locking %s: %v", dir, err)
	}
	defer unlock()
	if installed(dir) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	if !installed(dir) {
		return fmt.Errorf("npm ci in %s left no node_modules/.package-lock.json", dir)
	}
	return nil
}
