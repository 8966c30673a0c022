// Package moodle reads completions from Moodle without xAPI: the course
// completion report a teacher downloads (report/completion, CSV), and a
// pull through Moodle's web services with a token
// (core_completion_get_course_completion_status and the calls it needs).
package moodle

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/insigne/insigne/completion"
)

// MaxCSV caps a completion report: 100,000 learners fit.
const MaxCSV = 16 << 20

// InputError is a report or a response Insigne cannot read; Line is the
// CSV line (1 for the header, 0 when not about a line), Column the
// column's header.
type InputError struct {
	Line   int
	Column string
	Reason string
}

func (e *InputError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, "column %q: ", e.Column)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// ErrTooLarge is returned for a report over MaxCSV.
var ErrTooLarge = errors.New("moodle: too large")

// Report is what a completion report holds.
type Report struct {
	// Completions are the learners who completed the course.
	Completions []completion.Completion
	// Learners counts the learner rows; those who have not completed are
	// Learners - len(Completions).
	Learners int
}

// Headers of the report's columns, as Moodle writes them in English and
// French (report_completion and completion language strings; the e-mail
// column is there when the site shows it as user identity).
var (
	idHeaders       = []string{"id", "identifiant"}
	nameHeaders     = []string{"name", "nom", "nom complet", "full name"}
	emailHeaders    = []string{"email address", "email", "e-mail", "adresse de courriel", "adresse courriel", "courriel", "adresse e-mail", "adresse électronique"}
	completeHeaders = []string{"course complete", "course completed", "course completion", "cours terminé", "cours achevé", "achèvement du cours", "cours complété"}
)

// ParseCompletionReport reads the CSV download of Moodle's course
// completion report (report/completion/index.php?format=csv or
// excelcsv): a header row, then one row per learner with their Moodle
// id, name, identity fields (the e-mail address is required), one or two
// columns per criterion, and last the date the course was completed
// (empty when not completed).
//
// course names the course (Moodle ids, xAPI activity id, GAIA...); dates
// are read in loc, the time zone of whoever downloaded the report. The
// file may start with a byte order mark and use ',' or ';' (as Excel
// saves it in French) or a tab.
func ParseCompletionReport(data []byte, course completion.Activity, loc *time.Location) (Report, error) {
	var rep Report
	if len(data) > MaxCSV {
		return rep, fmt.Errorf("%w: the report has %d bytes, the limit is %d", ErrTooLarge, len(data), MaxCSV)
	}
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return rep, &InputError{Reason: "the file is UTF-16: download the CSV (UTF-8) or save it as CSV UTF-8"}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return rep, &InputError{Reason: "the file is not UTF-8 text: download the CSV from Moodle, or save it as CSV UTF-8"}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return rep, &InputError{Reason: "the file is empty"}
	}
	if loc == nil {
		loc = time.UTC
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = delimiter(data)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return rep, csvError(err)
	}
	header = slices.Clone(header) // the reader reuses its slice
	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = strings.ToLower(strings.TrimSpace(h))
	}
	find := func(names []string) int {
		for i, c := range cols {
			for _, n := range names {
				if c == n {
					return i
				}
			}
		}
		return -1
	}
	idCol, nameCol, emailCol, doneCol := find(idHeaders), find(nameHeaders), find(emailHeaders), find(completeHeaders)
	if emailCol < 0 {
		return rep, &InputError{Line: 1, Reason: fmt.Sprintf("no e-mail column (headers: %s): Insigne awards badges to an address; show the e-mail address in the report (site administration, showuseridentity)", strings.Join(header, ", "))}
	}
	if doneCol < 0 {
		// Moodle always writes the course's completion last.
		doneCol = len(cols) - 1
		if doneCol == emailCol || doneCol == idCol || doneCol == nameCol {
			return rep, &InputError{Line: 1, Reason: "no course completion column (\"Course complete\" or \"Cours terminé\")"}
		}
	}
	doneHeader := strings.TrimSpace(header[doneCol])
	emailHeader := strings.TrimSpace(header[emailCol])
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rep, csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(header) {
			return rep, &InputError{Line: line, Reason: fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))}
		}
		rep.Learners++
		cell := strings.TrimSpace(rec[doneCol])
		if cell == "" || cell == "-" {
			continue
		}
		at, err := parseReportDate(cell, loc)
		if err != nil {
			return rep, &InputError{Line: line, Column: doneHeader, Reason: err.Error()}
		}
		email := strings.ToLower(strings.TrimSpace(rec[emailCol]))
		if !plausibleEmail(email) {
			return rep, &InputError{Line: line, Column: emailHeader, Reason: fmt.Sprintf("%q is not an e-mail address", clip(email))}
		}
		c := completion.Completion{Source: "csv", Activity: course, Completed: true, At: at}
		c.Learner.Email = email
		if nameCol >= 0 {
			c.Learner.Name = strings.TrimSpace(rec[nameCol])
		}
		if idCol >= 0 {
			id := strings.TrimSpace(rec[idCol])
			if _, err := strconv.ParseUint(id, 10, 63); err != nil {
				return rep, &InputError{Line: line, Column: strings.TrimSpace(header[idCol]), Reason: fmt.Sprintf("%q is not a Moodle user id", clip(id))}
			}
			c.SourceRef = "course/" + course.MoodleCourseID + "/user/" + id
		}
		rep.Completions = append(rep.Completions, c)
	}
	if rep.Learners == 0 {
		return rep, &InputError{Reason: "the report has no learner rows"}
	}
	return rep, nil
}

// delimiter picks the separator of the header line: the most frequent of
// ',', ';' and tab outside quotes.
func delimiter(data []byte) rune {
	line := data
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		line = data[:i]
	}
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(line) {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &InputError{Line: pe.Line, Reason: "malformed CSV: " + pe.Err.Error()}
	}
	return &InputError{Reason: "malformed CSV: " + err.Error()}
}

// reportLayouts are the date formats of the report: strftimedatetimeshort
// is "%d/%m/%y, %H:%M" in English and "%d/%m/%y %H:%M" in French; a
// spreadsheet may have rewritten them with four-digit years, or as ISO.
var reportLayouts = []string{
	"02/01/06, 15:04", "02/01/06 15:04", "02/01/2006, 15:04", "02/01/2006 15:04", "2/1/06, 15:04", "2/1/2006 15:04",
	"02/01/2006 15:04:05", "02/01/06", "02/01/2006", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
}

func parseReportDate(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, l := range reportLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a completion date (e.g. 20/11/26, 14:05)", clip(s))
}

func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>,;\"") || !strings.Contains(s[at:], ".") || len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "…"
	}
	return s
}
