// Package moodletest is a fake Moodle site for tests: an httptest server
// that replays web-service answers and report downloads recorded in the
// shapes Moodle 4.1 gives them, stored under testdata.
//
// Web services: GET or POST /webservice/rest/server.php with wstoken,
// wsfunction and moodlewsrestformat=json answer
// testdata/{wsfunction}[-{courseid}[-{userid}]].json, with {{SITE}}
// replaced by the server's URL; a wrong token answers Moodle's
// invalidtoken exception, an unknown course invalidrecord, and a
// function without a recording accessexception, as Moodle does (HTTP
// 200 with the exception object). The course completion report is at
// /report/completion/index.php?course=42&format=csv (lang=fr for the
// French, semicolon-separated one).
package moodletest

import (
	"embed"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

//go:embed testdata
var recorded embed.FS

// Token is the web-service token the fake site accepts.
const Token = "0f3c6a9d2b7e4c1a8f5d0e9b6c3a7f12"

// Course is the course the recordings are of.
const Course = 42

// Server is a running fake Moodle site.
type Server struct {
	URL string
	mu  sync.Mutex
	// calls are the web-service functions called, in order.
	calls []string
}

// New starts a fake site, closed at the end of the test.
func New(t testing.TB) *Server {
	s := &Server{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Calls returns the web-service functions called so far.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *Server) file(name string) ([]byte, bool) {
	b, err := recorded.ReadFile("testdata/" + name)
	if err != nil {
		return nil, false
	}
	return []byte(strings.ReplaceAll(string(b), "{{SITE}}", s.URL)), true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/webservice/rest/server.php":
		s.ws(w, r)
	case "/report/completion/index.php":
		name := "report_completion-" + r.FormValue("course")
		if r.FormValue("lang") == "fr" {
			name += "-fr"
		}
		b, ok := s.file(name + ".csv")
		if !ok || r.FormValue("format") != "csv" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=UTF-8")
		w.Header().Set("Content-Disposition", `attachment; filename="completion-num-2026.csv"`)
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) ws(w http.ResponseWriter, r *http.Request) {
	fn := r.FormValue("wsfunction")
	s.mu.Lock()
	s.calls = append(s.calls, fn)
	s.mu.Unlock()
	answer := func(name string) {
		b, _ := s.file(name)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
	if r.FormValue("moodlewsrestformat") != "json" {
		// Moodle answers XML by default.
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8" ?>` + "\n<RESPONSE></RESPONSE>\n"))
		return
	}
	if r.FormValue("wstoken") != Token {
		answer("exception-invalidtoken.json")
		return
	}
	name := fn
	switch fn {
	case "core_webservice_get_site_info":
	case "core_enrol_get_enrolled_users":
		name += "-" + r.FormValue("courseid")
	case "core_completion_get_course_completion_status":
		name += "-" + r.FormValue("courseid") + "-" + r.FormValue("userid")
	default:
		answer("exception-accessexception.json")
		return
	}
	if _, ok := s.file(name + ".json"); !ok {
		answer("exception-invalidrecord.json")
		return
	}
	answer(name + ".json")
}
