package fetch

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOnlyOutboundClient reads the source of the service: no package but
// fetch makes its own HTTP client or dials out, so that every outbound
// request goes through the address checks, timeouts and size caps.
func TestOnlyOutboundClient(t *testing.T) {
	forbidden := regexp.MustCompile(`http\.(Get|Head|Post|PostForm)\(|http\.Default(Client|Transport)|http\.Client\{|http\.Transport\{|net\.Dial(er\{|\(|Timeout\()|tls\.Dial(er\{|\()`)
	// Files that may dial, and why.
	allowed := map[string]string{
		"backpack/smtp.go": "the SMTP relay the operator configures; not HTTP",
	}
	root := ".."
	var checked int
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch rel {
			case "fetch", "tools", ".git", "interop/node", "testdata":
				// fetch is the client; tools/ are separate programs
				// (the load generator talks to the server under test).
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") || strings.Contains(rel, "test/") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			if m := forbidden.FindString(line); m != "" && allowed[rel] == "" && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d: %s — outbound requests go through fetch.Client", rel, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked: the walk missed the source", checked)
	}
}
