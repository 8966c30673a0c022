package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/insigne/insigne/attest"
)

// maxParticipantsCSV caps the participants file of a session: 10,000
// rows of a few hundred bytes.
const maxParticipantsCSV = 4 << 20

// parseParticipantsCSV reads a session's participants from a CSV file: a
// header naming the columns (email or courriel, name or nom,
// establishment or établissement, present or présent, in any order),
// then a row per participant. French spreadsheets separate with
// semicolons, others with commas: the header says which. Without a
// present column everyone attended. It also returns each participant's
// line in the file, to name it in an error.
func parseParticipantsCSV(body []byte) ([]attest.Participant, []int, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // spreadsheets add a BOM
	if len(body) > maxParticipantsCSV {
		return nil, nil, &attest.InputError{Field: "participants", Reason: fmt.Sprintf("the file is larger than %d MiB", maxParticipantsCSV>>20)}
	}
	first, _, _ := bytes.Cut(body, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(body))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, &attest.InputError{Field: "participants", Reason: "the file is empty; its first line must name the columns (email, name, establishment, present)"}
		}
		return nil, nil, &attest.InputError{Field: "participants", Reason: "line 1: " + csvReason(err)}
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch name {
		case "courriel", "e-mail", "mail", "adresse électronique":
			name = "email"
		case "nom", "nom complet", "full name":
			name = "name"
		case "établissement", "etablissement", "school":
			name = "establishment"
		case "présent", "presente", "présente", "presence", "présence", "attended":
			name = "present"
		}
		if _, dup := col[name]; !dup {
			col[name] = i
		}
	}
	if _, ok := col["email"]; !ok {
		return nil, nil, &attest.InputError{Field: "participants", Reason: "line 1: no email column (the first line must name the columns: email, name, establishment, present)"}
	}
	if _, ok := col["name"]; !ok {
		return nil, nil, &attest.InputError{Field: "participants", Reason: "line 1: no name column (the attestation prints each participant's name)"}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []attest.Participant
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, nil, &attest.InputError{Field: "participants", Reason: fmt.Sprintf("line %d: %s", line, csvReason(err))}
		}
		line, _ := cr.FieldPos(0) // after a successful read only
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(out) == attest.MaxParticipants {
			return nil, nil, &attest.InputError{Field: "participants", Reason: fmt.Sprintf("more than %d participants", attest.MaxParticipants)}
		}
		p := attest.Participant{Email: get(rec, "email"), Name: get(rec, "name"), Establishment: get(rec, "establishment"), Present: true}
		if _, ok := col["present"]; ok {
			v := get(rec, "present")
			present, known := presence(v)
			if !known {
				return nil, nil, &attest.InputError{Field: "participants", Reason: fmt.Sprintf("line %d: present is %q; write oui or non (yes or no, 1 or 0)", line, v)}
			}
			p.Present = present
		}
		out = append(out, p)
		lines = append(lines, line)
	}
	if len(out) == 0 {
		return nil, nil, &attest.InputError{Field: "participants", Reason: "no participant rows after the first line"}
	}
	return out, lines, nil
}

// presence reads a present cell; an empty cell is an unticked box.
func presence(v string) (present, known bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "oui", "o", "yes", "y", "1", "true", "vrai", "x", "présent", "présente", "present":
		return true, true
	case "", "non", "n", "no", "0", "false", "faux", "absent", "absente":
		return false, true
	}
	return false, false
}

// csvReason is what went wrong on a line, without the csv package's
// own line prefix (the caller names the line).
func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
