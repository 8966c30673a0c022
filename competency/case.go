package competency

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/insigne/insigne/internal/jsonfield"
)

// CASE 1.0 CFPackage, as in the 1EdTech specification and OpenSALT's
// case-v1p0-cfpackage-schema.json. Only what the model holds is read;
// other properties (educationLevel, conceptKeywords, licenseURI, subject,
// CFRubrics, the other CFDefinitions…) are accepted and dropped.

type casePackage struct {
	CFDocument     *caseDocument     `json:"CFDocument"`
	CFItems        []caseItem        `json:"CFItems"`
	CFAssociations []caseAssociation `json:"CFAssociations"`
	CFDefinitions  *caseDefinitions  `json:"CFDefinitions,omitempty"`
}

type caseLink struct {
	Title      string `json:"title"`
	Identifier string `json:"identifier"`
	URI        string `json:"uri"`
}

type caseDocument struct {
	Identifier         string    `json:"identifier"`
	URI                string    `json:"uri"`
	Creator            string    `json:"creator"`
	Title              string    `json:"title"`
	LastChangeDateTime string    `json:"lastChangeDateTime"`
	OfficialSourceURL  string    `json:"officialSourceURL,omitempty"`
	Publisher          string    `json:"publisher,omitempty"`
	Description        string    `json:"description,omitempty"`
	Language           string    `json:"language,omitempty"`
	Version            string    `json:"version,omitempty"`
	AdoptionStatus     string    `json:"adoptionStatus,omitempty"`
	StatusStartDate    string    `json:"statusStartDate,omitempty"`
	StatusEndDate      string    `json:"statusEndDate,omitempty"`
	Notes              string    `json:"notes,omitempty"`
	CFPackageURI       *caseLink `json:"CFPackageURI,omitempty"`
}

type caseItem struct {
	Identifier           string    `json:"identifier"`
	URI                  string    `json:"uri"`
	FullStatement        string    `json:"fullStatement"`
	AlternativeLabel     string    `json:"alternativeLabel,omitempty"`
	CFItemType           string    `json:"CFItemType,omitempty"`
	CFItemTypeURI        *caseLink `json:"CFItemTypeURI,omitempty"`
	HumanCodingScheme    string    `json:"humanCodingScheme,omitempty"`
	ListEnumeration      string    `json:"listEnumeration,omitempty"`
	AbbreviatedStatement string    `json:"abbreviatedStatement,omitempty"`
	Notes                string    `json:"notes,omitempty"`
	Language             string    `json:"language,omitempty"`
	LastChangeDateTime   string    `json:"lastChangeDateTime"`
	CFDocumentURI        *caseLink `json:"CFDocumentURI,omitempty"`
}

type caseAssociation struct {
	Identifier         string    `json:"identifier"`
	URI                string    `json:"uri"`
	AssociationType    string    `json:"associationType"`
	SequenceNumber     *int      `json:"sequenceNumber,omitempty"`
	OriginNodeURI      *caseLink `json:"originNodeURI"`
	DestinationNodeURI *caseLink `json:"destinationNodeURI"`
	LastChangeDateTime string    `json:"lastChangeDateTime"`
	CFDocumentURI      *caseLink `json:"CFDocumentURI,omitempty"`
}

type caseDefinitions struct {
	CFItemTypes []caseItemType `json:"CFItemTypes"`
}

type caseItemType struct {
	Identifier         string `json:"identifier"`
	URI                string `json:"uri"`
	Title              string `json:"title"`
	Description        string `json:"description,omitempty"`
	HierarchyCode      string `json:"hierarchyCode"`
	LastChangeDateTime string `json:"lastChangeDateTime"`
}

// ExportCASE returns f as a CASE 1.0 CFPackage whose uris point to base, the
// root URL of the Insigne that serves it ({base}/ims/case/v1p0/CFItems/{id}…).
// Moodle-only data (Framework.Moodle, Item.Moodle) has no place in CASE and
// is left out.
func ExportCASE(f Framework, base string) ([]byte, error) {
	if err := checkBase(base); err != nil {
		return nil, fmt.Errorf("competency: export CASE: %w", err)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("competency: export CASE: %w", err)
	}
	base = strings.TrimRight(base, "/")

	docLink := &caseLink{Title: f.Title, Identifier: f.Identifier, URI: f.URI(base)}
	pkg := casePackage{
		CFDocument: &caseDocument{
			Identifier:         f.Identifier,
			URI:                f.URI(base),
			Creator:            f.Creator,
			Title:              f.Title,
			LastChangeDateTime: formatTime(f.LastChangeDateTime),
			OfficialSourceURL:  f.OfficialSourceURL,
			Publisher:          f.Publisher,
			Description:        f.Description,
			Language:           f.Language,
			Version:            f.Version,
			AdoptionStatus:     f.AdoptionStatus,
			StatusStartDate:    f.StatusStartDate,
			StatusEndDate:      f.StatusEndDate,
			Notes:              f.Notes,
			CFPackageURI:       &caseLink{Title: f.Title, Identifier: f.Identifier, URI: caseURI(base, "CFPackages", f.Identifier)},
		},
		CFItems:        make([]caseItem, 0, len(f.Items)),
		CFAssociations: make([]caseAssociation, 0, len(f.Associations)),
		CFDefinitions:  &caseDefinitions{CFItemTypes: make([]caseItemType, 0, len(f.ItemTypes))},
	}

	types := make(map[string]ItemType, len(f.ItemTypes))
	for _, t := range f.ItemTypes {
		types[t.Title] = t
		pkg.CFDefinitions.CFItemTypes = append(pkg.CFDefinitions.CFItemTypes, caseItemType{
			Identifier:         t.Identifier,
			URI:                caseURI(base, "CFItemTypes", t.Identifier),
			Title:              t.Title,
			Description:        t.Description,
			HierarchyCode:      t.HierarchyCode,
			LastChangeDateTime: formatTime(t.LastChangeDateTime),
		})
	}

	items := make(map[string]Item, len(f.Items))
	for _, it := range f.Items {
		items[it.Identifier] = it
		ci := caseItem{
			Identifier:           it.Identifier,
			URI:                  ItemURI(base, it.Identifier),
			FullStatement:        it.FullStatement,
			AlternativeLabel:     it.AlternativeLabel,
			CFItemType:           it.CFItemType,
			HumanCodingScheme:    it.HumanCodingScheme,
			ListEnumeration:      it.ListEnumeration,
			AbbreviatedStatement: it.AbbreviatedStatement,
			Notes:                it.Notes,
			Language:             it.Language,
			LastChangeDateTime:   formatTime(it.LastChangeDateTime),
			CFDocumentURI:        docLink,
		}
		if t, ok := types[it.CFItemType]; ok && it.CFItemType != "" {
			ci.CFItemTypeURI = &caseLink{Title: t.Title, Identifier: t.Identifier, URI: caseURI(base, "CFItemTypes", t.Identifier)}
		}
		pkg.CFItems = append(pkg.CFItems, ci)
	}

	link := func(n NodeRef) *caseLink {
		if n.Identifier == f.Identifier {
			return docLink
		}
		if it, ok := items[n.Identifier]; ok {
			return &caseLink{Title: nodeTitle(it), Identifier: it.Identifier, URI: ItemURI(base, it.Identifier)}
		}
		return &caseLink{Title: n.Title, Identifier: n.Identifier, URI: n.URI}
	}
	for _, a := range f.Associations {
		ca := caseAssociation{
			Identifier:         a.Identifier,
			URI:                caseURI(base, "CFAssociations", a.Identifier),
			AssociationType:    a.Type,
			OriginNodeURI:      link(a.Origin),
			DestinationNodeURI: link(a.Destination),
			LastChangeDateTime: formatTime(a.LastChangeDateTime),
			CFDocumentURI:      docLink,
		}
		if a.SequenceNumber != 0 {
			n := a.SequenceNumber
			ca.SequenceNumber = &n
		}
		pkg.CFAssociations = append(pkg.CFAssociations, ca)
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the wording is text, not HTML; keep it readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(pkg); err != nil {
		return nil, fmt.Errorf("competency: export CASE: %w", err)
	}
	return buf.Bytes(), nil
}

// nodeTitle is the title of the link to an item: its code when it has one,
// as CASE tools show it.
func nodeTitle(it Item) string {
	switch {
	case it.HumanCodingScheme != "":
		return it.HumanCodingScheme
	case it.AbbreviatedStatement != "":
		return it.AbbreviatedStatement
	}
	return it.FullStatement
}

// ImportCASE reads a CASE 1.0 CFPackage of any framework. It refuses input
// over MaxImportBytes or with more than MaxItems items (wrapping
// ErrTooLarge), and a package with a missing or duplicate identifier, an
// item without a statement, an association whose end is neither in the
// package nor given by an absolute uri, an isChildOf association leaving
// the package, or a cycle of isChildOf associations. Identifiers are kept
// (in lower case); uris are not, since Insigne serves the framework under
// its own.
//
// Each item's Parent is the destination of its first isChildOf association;
// an item with none is at the top level.
func ImportCASE(data []byte) (Framework, error) {
	if len(data) > MaxImportBytes {
		return Framework{}, tooLarge("CFPackage", "%d bytes, more than %d", len(data), MaxImportBytes)
	}
	var pkg casePackage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&pkg); err != nil {
		return Framework{}, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Framework{}, inputErr("CFPackage", "unexpected data after the package")
	}
	if len(pkg.CFItems) > MaxItems {
		return Framework{}, tooLarge("CFItems", "%d items, more than %d", len(pkg.CFItems), MaxItems)
	}
	if len(pkg.CFAssociations) > MaxAssociations {
		return Framework{}, tooLarge("CFAssociations", "%d associations, more than %d", len(pkg.CFAssociations), MaxAssociations)
	}

	doc := pkg.CFDocument
	if doc == nil {
		return Framework{}, inputErr("CFDocument", "missing")
	}
	owner := make(map[string]string) // identifier → path of what holds it
	claim := func(path, raw string) (string, error) {
		if raw == "" {
			return "", inputErr(path+".identifier", "missing")
		}
		id, ok := normUUID(raw)
		if !ok {
			return "", inputErr(path+".identifier", "%q is not a UUID", raw)
		}
		if prev, dup := owner[id]; dup {
			return "", inputErr(path+".identifier", "%s is also the identifier of %s", id, prev)
		}
		owner[id] = path
		return id, nil
	}

	docID, err := claim("CFDocument", doc.Identifier)
	if err != nil {
		return Framework{}, err
	}
	if strings.TrimSpace(doc.Title) == "" {
		return Framework{}, inputErr("CFDocument.title", "missing")
	}
	f := Framework{
		Identifier:        docID,
		Title:             doc.Title,
		Creator:           doc.Creator,
		Publisher:         doc.Publisher,
		Description:       doc.Description,
		Language:          doc.Language,
		Version:           doc.Version,
		AdoptionStatus:    doc.AdoptionStatus,
		StatusStartDate:   doc.StatusStartDate,
		StatusEndDate:     doc.StatusEndDate,
		OfficialSourceURL: doc.OfficialSourceURL,
		Notes:             doc.Notes,
	}
	if f.LastChangeDateTime, err = parseTime("CFDocument.lastChangeDateTime", doc.LastChangeDateTime); err != nil {
		return Framework{}, err
	}

	typeByTitle := make(map[string]bool)
	typeByID := make(map[string]bool)
	if defs := pkg.CFDefinitions; defs != nil {
		for i, t := range defs.CFItemTypes {
			path := fmt.Sprintf("CFDefinitions.CFItemTypes[%d]", i)
			id, err := claim(path, t.Identifier)
			if err != nil {
				return Framework{}, err
			}
			if t.Title == "" {
				return Framework{}, inputErr(path+".title", "missing")
			}
			if typeByTitle[t.Title] {
				return Framework{}, inputErr(path+".title", "%q is also the title of another item type", t.Title)
			}
			typeByTitle[t.Title], typeByID[id] = true, true
			lc, err := parseTime(path+".lastChangeDateTime", t.LastChangeDateTime)
			if err != nil {
				return Framework{}, err
			}
			f.ItemTypes = append(f.ItemTypes, ItemType{
				Identifier: id, Title: t.Title, Description: t.Description,
				HierarchyCode: t.HierarchyCode, LastChangeDateTime: lc,
			})
		}
	}

	itemIndex := make(map[string]int, len(pkg.CFItems))
	if n := len(pkg.CFItems); n > 0 { // nil when empty, as the other importers give
		f.Items = make([]Item, 0, n)
	}
	for i, ci := range pkg.CFItems {
		path := fmt.Sprintf("CFItems[%d]", i)
		id, err := claim(path, ci.Identifier)
		if err != nil {
			return Framework{}, err
		}
		if strings.TrimSpace(ci.FullStatement) == "" {
			return Framework{}, inputErr(path+".fullStatement", "missing (item %s)", id)
		}
		lc, err := parseTime(path+".lastChangeDateTime", ci.LastChangeDateTime)
		if err != nil {
			return Framework{}, err
		}
		typ := ci.CFItemType
		if l := ci.CFItemTypeURI; l != nil {
			if typ == "" {
				typ = l.Title
			}
			// A type known only by its link gets a definition, so that the
			// link survives an export.
			tid, isID := normUUID(l.Identifier)
			if typ != "" && isID && !typeByTitle[typ] && !typeByID[tid] {
				if _, err := claim(path+".CFItemTypeURI", tid); err != nil {
					return Framework{}, err
				}
				typeByTitle[typ], typeByID[tid] = true, true
				f.ItemTypes = append(f.ItemTypes, ItemType{Identifier: tid, Title: typ})
			}
		}
		itemIndex[id] = i
		f.Items = append(f.Items, Item{
			Identifier:           id,
			HumanCodingScheme:    ci.HumanCodingScheme,
			FullStatement:        ci.FullStatement,
			AbbreviatedStatement: ci.AbbreviatedStatement,
			AlternativeLabel:     ci.AlternativeLabel,
			CFItemType:           typ,
			ListEnumeration:      ci.ListEnumeration,
			Notes:                ci.Notes,
			Language:             ci.Language,
			LastChangeDateTime:   lc,
		})
	}

	// resolve turns an end of an association into a NodeRef: the document
	// or an item of the package, or else a node elsewhere that must say
	// where (an absolute uri).
	resolve := func(path string, l *caseLink) (NodeRef, bool, error) {
		if l == nil {
			return NodeRef{}, false, inputErr(path, "missing")
		}
		if l.Identifier == "" {
			return NodeRef{}, false, inputErr(path+".identifier", "missing")
		}
		id := l.Identifier
		if n, ok := normUUID(id); ok {
			id = n
		}
		if _, ok := itemIndex[id]; ok || id == docID {
			return NodeRef{Identifier: id}, true, nil
		}
		u, err := url.Parse(l.URI)
		if l.URI == "" || err != nil || !u.IsAbs() {
			return NodeRef{}, false, inputErr(path, "%s is neither an item of this package nor the document, and has no absolute uri: it points nowhere", l.Identifier)
		}
		return NodeRef{Identifier: id, Title: l.Title, URI: l.URI}, false, nil
	}

	parentSet := make([]bool, len(f.Items))
	if n := len(pkg.CFAssociations); n > 0 {
		f.Associations = make([]Association, 0, n)
	}
	for i, ca := range pkg.CFAssociations {
		path := fmt.Sprintf("CFAssociations[%d]", i)
		id, err := claim(path, ca.Identifier)
		if err != nil {
			return Framework{}, err
		}
		if !slices.Contains(associationTypes, ca.AssociationType) {
			return Framework{}, inputErr(path+".associationType", "%q is not one of %s", ca.AssociationType, strings.Join(associationTypes, ", "))
		}
		origin, originIn, err := resolve(path+".originNodeURI", ca.OriginNodeURI)
		if err != nil {
			return Framework{}, err
		}
		dest, destIn, err := resolve(path+".destinationNodeURI", ca.DestinationNodeURI)
		if err != nil {
			return Framework{}, err
		}
		if !originIn && !destIn {
			return Framework{}, inputErr(path, "neither %s nor %s is in this package", origin.Identifier, dest.Identifier)
		}
		lc, err := parseTime(path+".lastChangeDateTime", ca.LastChangeDateTime)
		if err != nil {
			return Framework{}, err
		}
		a := Association{Identifier: id, Type: ca.AssociationType, Origin: origin, Destination: dest, LastChangeDateTime: lc}
		if ca.SequenceNumber != nil {
			a.SequenceNumber = *ca.SequenceNumber
		}
		if a.Type == IsChildOf {
			child, isItem := itemIndex[origin.Identifier]
			if !isItem {
				return Framework{}, inputErr(path+".originNodeURI", "isChildOf from %s, which is not an item of this package", origin.Identifier)
			}
			if !destIn {
				return Framework{}, inputErr(path+".destinationNodeURI", "isChildOf to %s, which is not in this package", dest.Identifier)
			}
			if !parentSet[child] {
				parentSet[child] = true
				if dest.Identifier != docID {
					f.Items[child].Parent = dest.Identifier
				}
			}
		}
		f.Associations = append(f.Associations, a)
	}

	if err := f.Validate(); err != nil {
		return Framework{}, err
	}
	return f, nil
}

// jsonError turns a decoding error into an InputError naming the place.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return inputErr(fmt.Sprintf("byte %d", syn.Offset), "invalid JSON: %v", err)
	case errors.As(err, &typ):
		where := jsonfield.Path(typ.Field)
		if where == "" {
			where = "CFPackage"
		}
		return inputErr(where, "is a JSON %s, want a %s", typ.Value, typ.Type)
	case errors.Is(err, io.EOF):
		return inputErr("CFPackage", "empty input")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return inputErr("CFPackage", "truncated JSON")
	}
	return inputErr("CFPackage", "invalid JSON: %v", err)
}

// formatTime writes a CASE date-time, in UTC.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime reads a CASE date-time: RFC 3339, or without a zone (taken as
// UTC), or a bare date, since packages in the wild use all three. An empty
// value is the zero time: the date is required by CASE but nothing here
// depends on it.
func parseTime(path, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, inputErr(path, "%q is not a date-time", s)
}

// checkBase accepts the base URL of an Insigne: absolute http(s), no query.
func checkBase(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("base URL %q: %w", base, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("base URL %q: want an absolute http(s) URL without query or fragment", base)
	}
	return nil
}
