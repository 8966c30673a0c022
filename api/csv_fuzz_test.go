package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/insigne/insigne/issuing"
)

func TestParseRecipientsCSV(t *testing.T) {
	rows, err := parseRecipientsCSV([]byte("\xef\xbb\xbfName,Email\r\nAna Martin,ana@example.org\r\n\r\n\"Ben, Jr\",ben@example.org\r\n"))
	if err != nil || len(rows) != 2 || rows[1].Name != "Ben, Jr" || rows[0].Email != "ana@example.org" {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	for body, want := range map[string]string{
		"":                           "empty",
		"name\nAna\n":                "no email column",
		"email\n":                    "no recipient rows",
		"email,name\n\"a@b.fr,Ana\n": "line",
	} {
		_, err := parseRecipientsCSV([]byte(body))
		var in *issuing.InputError
		if !errors.As(err, &in) || in.Field != "csv" || !strings.Contains(in.Reason, want) {
			t.Errorf("%q: %v, want an error saying %q", body, err, want)
		}
	}
}

// FuzzRecipientsCSV: whatever the file, the parser answers rows or an
// input error, never a panic.
func FuzzRecipientsCSV(f *testing.F) {
	f.Add([]byte("email,name\nana@example.org,Ana\n"))
	f.Add([]byte("courriel;nom\n"))
	f.Add([]byte("\xef\xbb\xbfemail\n\"x\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, err := parseRecipientsCSV(body)
		if err != nil {
			var in *issuing.InputError
			if !errors.As(err, &in) {
				t.Fatalf("not an input error: %v", err)
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no error and no rows")
		}
	})
}
