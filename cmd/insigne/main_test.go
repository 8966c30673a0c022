package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insigne/insigne/interop"
)

var (
	vectors  = filepath.Join("..", "..", "testdata", "vectors")
	examples = filepath.Join("..", "..", "testdata", "examples", "1edtech-validator-ob30")
)

// insigne runs the command in-process and returns its exit code and output.
func insigne(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func proofValue(t *testing.T, signed string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(signed), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, signed)
	}
	proofs := m["proof"].([]any)
	return proofs[len(proofs)-1].(map[string]any)["proofValue"].(string)
}

// insigne sign with the vectors' keys and created time prints the
// published proofValue.
func TestSignReproducesVectors(t *testing.T) {
	code, out, stderr := insigne(t, "", "sign",
		"--key", filepath.Join(vectors, "vc-di-eddsa", "keyPair.json"),
		"--vm", "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
		"--created", "2023-02-24T23:36:38Z",
		filepath.Join(vectors, "vc-di-eddsa", "unsigned.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, _ := os.ReadFile(filepath.Join(vectors, "vc-di-eddsa", "eddsa-rdfc-2022", "sigBTC58DataInt.txt"))
	if got := proofValue(t, out); got != strings.TrimSpace(string(want)) {
		t.Errorf("W3C: proofValue %s, want %s", got, want)
	}

	// The 1EdTech vector gives its key as a legacy 64-byte Multikey secret.
	var kp map[string]string
	b, _ := os.ReadFile(filepath.Join(vectors, "ob3-impl-guide", "keypair.json"))
	json.Unmarshal(b, &kp)
	key, _ := json.Marshal(map[string]string{"publicKeyMultibase": kp["publicKeyMultibase"], "secretKeyMultibase": kp["secretKeyMultibase_legacy_64byte"]})
	code, out, stderr = insigne(t, "", "sign", "--key", write(t, "ob.json", key), "--vm", kp["id"],
		"--created", "2010-01-01T19:23:24Z", filepath.Join(vectors, "ob3-impl-guide", "unsigned-credential.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	hashes, _ := os.ReadFile(filepath.Join(vectors, "ob3-impl-guide", "hashes.txt"))
	if got := proofValue(t, out); !strings.Contains(string(hashes), "proofValue="+got+"\n") {
		t.Errorf("1EdTech: proofValue %s is not the published one", got)
	}
}

func TestVerifyExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"verify", "--offline", filepath.Join(examples, "simple.json")}, exitOK},     // valid with warnings offline
		{[]string{"verify", "--offline", filepath.Join(examples, "simple-json.png")}, exitOK}, // baked
		{[]string{"verify", "--offline", filepath.Join(examples, "simple-err-type.json")}, exitInvalid},
		{[]string{"verify", "--offline", "--at", "2000-01-01T00:00:00Z", filepath.Join(examples, "simple.json")}, exitInvalid},
		{[]string{"verify", "--offline", filepath.Join(examples, "README.md")}, exitUnusable},
		{[]string{"verify", "--offline", "/no/such/file"}, exitUnusable},
		{[]string{"verify", "--offline", "--at", "yesterday", filepath.Join(examples, "simple.json")}, exitUnusable},
		{[]string{"verify"}, exitUnusable},
		{[]string{"frobnicate"}, exitUnusable},
		{[]string{"sign", "--key", "/no/such/key", "x.json"}, exitUnusable},
	}
	for _, tc := range cases {
		code, out, stderr := insigne(t, "", tc.args...)
		if code != tc.want {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.args, code, tc.want, out, stderr)
		}
	}
	// Standard input and --json.
	in, _ := os.ReadFile(filepath.Join(examples, "simple-err-issued.json"))
	code, out, _ := insigne(t, string(in), "verify", "--offline", "--json", "-")
	var report struct {
		Verdict string
		Checks  []struct {
			Name    string
			OK      bool
			Message string
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != exitInvalid || report.Verdict != "invalid" || len(report.Checks) == 0 {
		t.Fatalf("--json: exit %d, %v: %s", code, err, out)
	}
	for _, c := range report.Checks {
		if c.Name == "" || c.Message == "" {
			t.Errorf("check without name or message: %+v", c)
		}
	}
}

// keys generate → sign (di and jwt) → bake → unbake → verify, all through
// the command line.
func TestKeysSignBakeVerify(t *testing.T) {
	dir := t.TempDir()
	ed, p256 := filepath.Join(dir, "ed.jwk"), filepath.Join(dir, "p256.jwk")
	for alg, file := range map[string]string{"Ed25519": ed, "P-256": p256} {
		if code, _, stderr := insigne(t, "", "keys", "generate", "--alg", alg, "--out", file); code != 0 {
			t.Fatalf("keys generate %s: %s", alg, stderr)
		}
		st, err := os.Stat(file)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v", file, st.Mode(), err)
		}
	}
	if code, _, _ := insigne(t, "", "keys", "generate", "--alg", "RSA", "--out", filepath.Join(dir, "x")); code != exitUnusable {
		t.Errorf("RSA accepted")
	}
	// A did:key issuer: self-certifying, so the verdict is valid offline.
	code, out, _ := insigne(t, "", "keys", "generate", "--alg", "Ed25519", "--out", filepath.Join(dir, "issuer.jwk"))
	if code != 0 {
		t.Fatal(out)
	}
	did := strings.TrimSpace(out[strings.Index(out, "did:key: ")+len("did:key: "):])
	cred := strings.ReplaceAll(string(mustRead(t, filepath.Join(vectors, "ob3-impl-guide", "unsigned-credential.json"))),
		"https://example.edu/issuers/565049", did)
	credFile := write(t, "cred.json", []byte(cred))
	vm := did + "#" + strings.TrimPrefix(did, "did:key:")
	code, signed, stderr := insigne(t, "", "sign", "--key", filepath.Join(dir, "issuer.jwk"), "--vm", vm, credFile)
	if code != 0 {
		t.Fatal(stderr)
	}
	signedFile := write(t, "signed.json", []byte(signed))
	if code, out, _ := insigne(t, "", "verify", "--offline", "--json", signedFile); code != 0 || !strings.Contains(out, `"verdict": "valid"`) {
		t.Fatalf("did:key credential: exit %d\n%s", code, out)
	}

	// Bake into both image formats and back.
	png := filepath.Join(examples, "simple-json.png") // an image that already holds a credential
	if code, _, _ := insigne(t, "", "bake", "--image", png, "--out", filepath.Join(dir, "x.png"), signedFile); code != exitUnusable {
		t.Errorf("baking into a baked image was accepted")
	}
	svg := write(t, "plain.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>`))
	bakedSVG := filepath.Join(dir, "baked.svg")
	if code, _, stderr := insigne(t, "", "bake", "--image", svg, "--out", bakedSVG, signedFile); code != 0 {
		t.Fatal(stderr)
	}
	code, unbaked, _ := insigne(t, "", "unbake", bakedSVG)
	if code != 0 || proofValue(t, unbaked) != proofValue(t, signed) {
		t.Fatalf("unbake: exit %d: %s", code, unbaked)
	}
	if code, out, _ := insigne(t, "", "verify", "--offline", bakedSVG); code != 0 {
		t.Fatalf("baked svg: exit %d\n%s", code, out)
	}

	// VC-JWT with the public key embedded: valid signature, issuer unconfirmed.
	code, token, stderr := insigne(t, "", "sign", "--key", p256, "--format", "jwt", credFile)
	if code != 0 {
		t.Fatal(stderr)
	}
	if code, out, _ := insigne(t, token, "verify", "--offline", "--json", "-"); code != 0 || !strings.Contains(out, `"verdict": "warnings"`) {
		t.Fatalf("jwt: exit %d\n%s", code, out)
	}
	// A signature made with the Ed25519 key is refused for ES256 keys' kid.
	if code, _, _ := insigne(t, "", "sign", "--key", p256, "--vm", vm, credFile); code != exitUnusable {
		t.Errorf("Data Integrity with a P-256 key accepted")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Interop, both ways, with the Digital Bazaar stack and jose from npm.
func TestInteropWithDigitalBazaar(t *testing.T) {
	node := interop.Node(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k.jwk")
	code, out, _ := insigne(t, "", "keys", "generate", "--alg", "Ed25519", "--out", keyFile)
	if code != 0 {
		t.Fatal(out)
	}
	mb := strings.TrimSpace(strings.SplitN(out[strings.Index(out, "publicKeyMultibase: ")+len("publicKeyMultibase: "):], "\n", 2)[0])
	issuer := "https://example.edu/issuers/565049"
	vm := issuer + "#" + mb
	unsigned := filepath.Join(vectors, "ob3-impl-guide", "unsigned-credential.json")

	// Insigne signs → Digital Bazaar verifies; tampered fails there.
	code, signed, stderr := insigne(t, "", "sign", "--key", keyFile, "--vm", vm, unsigned)
	if code != 0 {
		t.Fatal(stderr)
	}
	if ok, detail := node.VerifyDI(t, []byte(signed)); !ok {
		t.Fatalf("Digital Bazaar refused Insigne's credential: %s", detail)
	}
	tampered := strings.Replace(signed, "Teamwork Badge", "Teamwork Badge!", 1)
	if ok, _ := node.VerifyDI(t, []byte(tampered)); ok {
		t.Fatal("Digital Bazaar accepted a tampered credential")
	}

	// Digital Bazaar signs → Insigne verifies; tampered fails here.
	var kp map[string]string
	json.Unmarshal(mustRead(t, filepath.Join(vectors, "vc-di-eddsa", "keyPair.json")), &kp)
	dbKey, _ := json.Marshal(kp)
	dbVM := "did:key:" + kp["publicKeyMultibase"] + "#" + kp["publicKeyMultibase"]
	cred := strings.ReplaceAll(string(mustRead(t, unsigned)), issuer, "did:key:"+kp["publicKeyMultibase"])
	dbSigned := node.SignDI(t, dbKey, dbVM, "", []byte(cred))
	if code, out, _ := insigne(t, string(dbSigned), "verify", "--offline", "--json", "-"); code != 0 || !strings.Contains(out, `"verdict": "valid"`) {
		t.Fatalf("Insigne refused Digital Bazaar's credential: exit %d\n%s", code, out)
	}
	dbTampered := bytes.Replace(dbSigned, []byte("Teamwork Badge"), []byte("Teamwork Badge!"), 1)
	if code, _, _ := insigne(t, string(dbTampered), "verify", "--offline", "-"); code != exitInvalid {
		t.Fatalf("Insigne accepted a tampered credential: exit %d", code)
	}

	// A VC-JWT from insigne sign --format jwt verifies with jose.
	p256 := filepath.Join(dir, "p.jwk")
	if code, out, _ := insigne(t, "", "keys", "generate", "--alg", "P-256", "--out", p256); code != 0 {
		t.Fatal(out)
	}
	code, token, stderr := insigne(t, "", "sign", "--key", p256, "--format", "jwt", unsigned)
	if code != 0 {
		t.Fatal(stderr)
	}
	payload, ok, detail := node.VerifyJWT(t, strings.TrimSpace(token), nil)
	if !ok {
		t.Fatalf("jose refused Insigne's JWT: %s", detail)
	}
	if !bytes.Contains(payload, []byte(`"iss":"`+issuer+`"`)) {
		t.Errorf("payload lacks iss: %s", payload)
	}
	bad := []byte(strings.TrimSpace(token))
	bad[len(bad)-5] ^= 1
	if _, ok, _ := node.VerifyJWT(t, string(bad), nil); ok {
		t.Error("jose accepted a tampered JWT")
	}
}

// INSIGNE_PPROF_ADDR serves the runtime's profiles on a listener of its
// own, and nothing else.
func TestServeProfiles(t *testing.T) {
	stop, err := serveProfiles("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err = serveProfiles(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for path, want := range map[string]int{"/debug/pprof/": 200, "/debug/pprof/cmdline": 200, "/api/v1/issuers": 404} {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
	if _, err := serveProfiles("not an address"); err == nil {
		t.Error("a bad address was accepted")
	}
}

// A pool size that is no number, or none, stops serve before it listens,
// with exit 2 naming the variable.
func TestServeRefusesBadPoolSize(t *testing.T) {
	for _, v := range []string{"many", "0", "-3", "100000"} {
		var out, errb bytes.Buffer
		vars := map[string]string{"INSIGNE_DATABASE_MAX_CONNS": v}
		code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()},
			env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }})
		if code != 2 || !strings.Contains(errb.String(), "INSIGNE_DATABASE_MAX_CONNS") {
			t.Errorf("INSIGNE_DATABASE_MAX_CONNS=%s: exit %d, %q; want 2 naming the variable", v, code, errb.String())
		}
	}
}
