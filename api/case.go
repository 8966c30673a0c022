package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/competency"
)

// caseIndex serves frameworks read-only as 1EdTech CASE 1.0: documents,
// packages, items and associations by identifier. The JSON is built
// once per set of framework versions.
type caseIndex struct {
	documents    []json.RawMessage
	packages     map[string]json.RawMessage
	items        map[string]json.RawMessage
	associations map[string]json.RawMessage
}

func newCASEIndex(frameworks []competency.Framework, base string) (*caseIndex, error) {
	ix := &caseIndex{packages: map[string]json.RawMessage{}, items: map[string]json.RawMessage{}, associations: map[string]json.RawMessage{}}
	for _, f := range frameworks {
		pkg, err := competency.ExportCASE(f, base)
		if err != nil {
			return nil, fmt.Errorf("CASE export of %s: %w", f.Title, err)
		}
		var parts struct {
			CFDocument     json.RawMessage
			CFItems        []json.RawMessage
			CFAssociations []json.RawMessage
		}
		if err := json.Unmarshal(pkg, &parts); err != nil {
			return nil, err
		}
		ix.documents = append(ix.documents, parts.CFDocument)
		for _, list := range []struct {
			raw  []json.RawMessage
			into map[string]json.RawMessage
		}{{parts.CFItems, ix.items}, {parts.CFAssociations, ix.associations}} {
			for _, r := range list.raw {
				var id struct{ Identifier string }
				json.Unmarshal(r, &id)
				list.into[id.Identifier] = r
			}
		}
		ix.packages[f.Identifier] = pkg
	}
	return ix, nil
}

func (s *Server) caseRoutes(r *mux.Router) {
	r.HandleFunc("/ims/case/v1p0/CFDocuments", s.caseDocuments).Methods(http.MethodGet)
	r.HandleFunc("/ims/case/v1p0/CFDocuments/{id}", s.caseLookup(func(ix *caseIndex, id string) (json.RawMessage, bool) {
		pkg, ok := ix.packages[id]
		if !ok {
			return nil, false
		}
		var parts struct{ CFDocument json.RawMessage }
		json.Unmarshal(pkg, &parts)
		return parts.CFDocument, true
	})).Methods(http.MethodGet)
	r.HandleFunc("/ims/case/v1p0/CFPackages/{id}", s.caseLookup(func(ix *caseIndex, id string) (json.RawMessage, bool) {
		b, ok := ix.packages[id]
		return b, ok
	})).Methods(http.MethodGet)
	r.HandleFunc("/ims/case/v1p0/CFItems/{id}", s.caseLookup(func(ix *caseIndex, id string) (json.RawMessage, bool) {
		b, ok := ix.items[id]
		return b, ok
	})).Methods(http.MethodGet)
	r.HandleFunc("/ims/case/v1p0/CFAssociations/{id}", s.caseLookup(func(ix *caseIndex, id string) (json.RawMessage, bool) {
		b, ok := ix.associations[id]
		return b, ok
	})).Methods(http.MethodGet)
}

func (s *Server) caseDocuments(w http.ResponseWriter, r *http.Request) {
	ix, err := s.caseFrameworks(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, _ := json.Marshal(map[string]any{"CFDocuments": ix.documents})
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeDoc(w, "application/json", http.StatusOK, b)
}

// caseLookup answers one CASE object by its identifier, or the CASE
// status payload for an unknown one.
func (s *Server) caseLookup(find func(*caseIndex, string) (json.RawMessage, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["id"]
		ix, err := s.caseFrameworks(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		b, ok := find(ix, id)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"imsx_codeMajor": "failure", "imsx_severity": "error",
				"imsx_description": "no CASE object " + id, "imsx_codeMinor": map[string]any{"imsx_codeMinorField": []any{
					map[string]string{"imsx_codeMinorFieldName": "sourcedId", "imsx_codeMinorFieldValue": "unknownobject"}}}})
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		writeDoc(w, "application/json", http.StatusOK, b)
	}
}
