package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/insigne/insigne/attest"
)

func TestParseParticipantsCSV(t *testing.T) {
	rows, lines, err := parseParticipantsCSV([]byte("\xef\xbb\xbfNom;Courriel;Établissement;Présent\r\n" +
		"Ana Martin;ana@ac-lyon.fr;Collège Jean Moulin – Lyon;oui\r\n\r\n\"Bernard; Jules\";jules@ac-lyon.fr;;non\r\n"))
	if err != nil || len(rows) != 2 || len(lines) != 2 {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	if rows[0] != (attest.Participant{Email: "ana@ac-lyon.fr", Name: "Ana Martin", Establishment: "Collège Jean Moulin – Lyon", Present: true}) {
		t.Errorf("row 1: %+v", rows[0])
	}
	if rows[1].Name != "Bernard; Jules" || rows[1].Present || lines[1] != 4 {
		t.Errorf("row 2: %+v at line %d", rows[1], lines[1])
	}
	// Commas, and no present column: everyone attended.
	rows, _, err = parseParticipantsCSV([]byte("email,name\nana@ac-lyon.fr,Ana Martin\n"))
	if err != nil || len(rows) != 1 || !rows[0].Present {
		t.Fatalf("without a present column: %+v, %v", rows, err)
	}
	for body, want := range map[string]string{
		"":                           "empty",
		"name\nAna\n":                "no email column",
		"email\nana@ac-lyon.fr\n":    "no name column",
		"email,name\n":               "no participant rows",
		"email,name\n\"a@b.fr,Ana\n": "line 2",
		"email,name,present\na@b.fr,Ana,peut-être": "line 2: present is \"peut-être\"",
	} {
		_, _, err := parseParticipantsCSV([]byte(body))
		var in *attest.InputError
		if !errors.As(err, &in) || in.Field != "participants" || !strings.Contains(in.Reason, want) {
			t.Errorf("%q: %v, want an error saying %q", body, err, want)
		}
	}
}

// FuzzParticipantsCSV: whatever the file, the parser answers participants
// (each with its line) or an input error, never a panic.
func FuzzParticipantsCSV(f *testing.F) {
	f.Add([]byte("email,name,present\nana@example.org,Ana,oui\n"))
	f.Add([]byte("courriel;nom;établissement\n"))
	f.Add([]byte("\xef\xbb\xbfemail;name\n\"x\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, lines, err := parseParticipantsCSV(body)
		if err != nil {
			var in *attest.InputError
			if !errors.As(err, &in) {
				t.Fatalf("not an input error: %v", err)
			}
			return
		}
		if len(rows) == 0 || len(rows) != len(lines) {
			t.Fatalf("%d rows, %d lines", len(rows), len(lines))
		}
	})
}
