package competency

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Association types of CASE 1.0 (CFAssociation.associationType).
const (
	IsChildOf     = "isChildOf"
	IsPeerOf      = "isPeerOf"
	IsPartOf      = "isPartOf"
	ExactMatchOf  = "exactMatchOf"
	Precedes      = "precedes"
	IsRelatedTo   = "isRelatedTo"
	ReplacedBy    = "replacedBy"
	Exemplar      = "exemplar"
	HasSkillLevel = "hasSkillLevel"
)

var associationTypes = []string{IsChildOf, IsPeerOf, IsPartOf, ExactMatchOf, Precedes, IsRelatedTo, ReplacedBy, Exemplar, HasSkillLevel}

// casePath is where the CASE 1.0 REST interface lives under the base URL;
// every uri in an exported package points there, so that it resolves once
// the api package serves the framework.
const casePath = "/ims/case/v1p0"

// Framework is a competency framework: a CASE CFDocument with its items and
// associations.
//
// URIs are not stored: an exported package gets them from the base URL and
// the identifiers ({base}/ims/case/v1p0/CFItems/{id}…), so that a framework
// keeps one identity whatever host serves it.
type Framework struct {
	Identifier        string // UUID, lower case
	Title             string
	Creator           string
	Publisher         string
	Description       string
	Language          string // BCP 47, "fr" for the official frameworks
	Version           string
	AdoptionStatus    string // CASE suggests Draft, Adopted, Deprecated
	StatusStartDate   string // xsd:date or xsd:dateTime, as given
	StatusEndDate     string
	OfficialSourceURL string
	Notes             string
	// LastChangeDateTime is in UTC. It is zero for a framework read from a
	// Moodle CSV, which carries no date, until the store dates it.
	LastChangeDateTime time.Time

	// ItemTypes are the CFItemType definitions (CFDefinitions.CFItemTypes);
	// an item names its type by title in Item.CFItemType.
	ItemTypes []ItemType
	// Items are in document order: for the official frameworks and Moodle
	// files, a parent comes before its children.
	Items []Item
	// Associations include the isChildOf associations that make the tree,
	// in the order they were given.
	Associations []Association

	// Moodle keeps what a Moodle CSV carried and CASE has no place for; nil
	// for a framework that came from anywhere else.
	Moodle *MoodleFramework
}

// Item is a CASE CFItem.
type Item struct {
	Identifier string // UUID, lower case
	// HumanCodingScheme is the code people use: "CC14", "P3.2", "F1.5".
	HumanCodingScheme string
	// FullStatement is the official wording, never reworded.
	FullStatement        string
	AbbreviatedStatement string
	AlternativeLabel     string
	// CFItemType is the title of the item's type ("Compétence"), defined in
	// Framework.ItemTypes when its identifier is known.
	CFItemType string
	// ListEnumeration is the numbering the source text prints ("1", "P3",
	// "C1"); empty where the text numbers nothing.
	ListEnumeration    string
	Notes              string
	Language           string
	LastChangeDateTime time.Time // UTC
	// Parent is the identifier of the parent item, "" for a top-level item
	// (a child of the document). It is the destination of the item's first
	// isChildOf association, kept here because every reader of a framework
	// walks the tree.
	Parent string

	// Moodle keeps the cells of a Moodle CSV row that Insigne would not
	// write the same way; nil otherwise. Code that edits an item should
	// clear it.
	Moodle *MoodleCompetency
}

// ItemType is a CASE CFItemType definition.
type ItemType struct {
	Identifier         string
	Title              string
	Description        string
	HierarchyCode      string
	LastChangeDateTime time.Time
}

// Association is a CASE CFAssociation: origin isChildOf destination, and so
// on.
type Association struct {
	Identifier  string
	Type        string // one of the association type constants
	Origin      NodeRef
	Destination NodeRef
	// SequenceNumber orders the children of a node; 0 when not given.
	SequenceNumber     int
	LastChangeDateTime time.Time
}

// NodeRef is one end of an association: the framework itself, one of its
// items, or a node of another framework.
type NodeRef struct {
	Identifier string
	// Title and URI are set only for a node outside this framework: inside
	// it they follow from the node and the base URL, and storing them would
	// let them go stale.
	Title string
	URI   string
}

// MoodleFramework holds the cells of a Moodle framework row that Insigne would
// not write the same way from the model, so that a framework exported by
// Moodle comes back out of Insigne unchanged. Empty fields mean "what
// Insigne writes".
type MoodleFramework struct {
	IDNumber           string // when it is not the framework identifier
	ShortName          string
	Description        *MoodleText
	ScaleValues        string
	ScaleConfiguration string
	Taxonomy           *string
}

// MoodleCompetency holds the cells of a Moodle competency row that Insigne
// would not write the same way from the model (see MoodleFramework).
type MoodleCompetency struct {
	// ExportID is Moodle's own id of the competency when the row did not
	// carry the item identifier; rule configurations refer to it.
	ExportID           string
	Description        *MoodleText
	ScaleValues        string
	ScaleConfiguration string
	Rule               *MoodleRule
	Related            *string // "Cross-referenced competency ID numbers", verbatim
}

// MoodleText is a Moodle description and its format ("0" Moodle, "1" HTML,
// "2" plain text, "4" Markdown).
type MoodleText struct {
	Text   string
	Format string
}

// MoodleRule is a Moodle competency rule, verbatim: the rule class, the
// outcome ("0" to "3") and the JSON configuration.
type MoodleRule struct {
	Type    string
	Outcome string
	Config  string
}

// Identifiers.
//
// The data files of the official frameworks carry no identifiers (the UUIDs
// in their derived CASE packages are placeholders on example.invalid), so
// identifiers are derived, as name-based UUIDs (version 5, RFC 9562):
//
//	framework  = UUIDv5(namespace, key)            key "rcpmpe-2013", "rcpf-2015", or a Moodle idnumber
//	item       = UUIDv5(framework, human code)     "CC1", "F1.5"
//	isChildOf  = UUIDv5(framework, "isChildOf <child id> <parent id>")
//
// An item keeps its identifier across runs, releases and re-imports as long as
// its code does not change, whatever its wording.

// namespace is UUIDv5(NameSpaceURL, "https://github.com/insigne/insigne/competency"):
// fixed forever, since every derived identifier depends on it.
const namespace = "f4287310-5a96-5fcc-abfe-24ae88fac33f"

// nameSpaceURL is the RFC 9562 namespace for URLs.
const nameSpaceURL = "6ba7b811-9dad-11d1-80b4-00c04fd430c8"

// DocumentID returns the identifier of the framework whose key (for a Moodle
// file, the framework idnumber) is key.
func DocumentID(key string) string {
	return uuid5(namespace, key)
}

// ItemID returns the identifier of the item whose human code is code in the
// framework frameworkID, or "" if frameworkID is not a UUID.
func ItemID(frameworkID, code string) string {
	return uuid5(frameworkID, code)
}

func childOfID(frameworkID, child, parent string) string {
	return uuid5(frameworkID, IsChildOf+" "+child+" "+parent)
}

func relatedID(frameworkID, a, b string) string {
	return uuid5(frameworkID, IsRelatedTo+" "+a+" "+b)
}

func itemTypeID(frameworkID, hierarchyCode string) string {
	return uuid5(frameworkID, "CFItemType "+hierarchyCode)
}

// uuid5 returns the name-based UUID of name in namespace ns, or "" if ns is
// not a UUID.
func uuid5(ns, name string) string {
	nsb, ok := uuidBytes(ns)
	if !ok {
		return ""
	}
	h := sha1.New()
	h.Write(nsb)
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// uuidBytes parses a UUID in its 8-4-4-4-12 form, in either case.
func uuidBytes(s string) ([]byte, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	b, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
	if err != nil {
		return nil, false
	}
	return b, true
}

// isUUID reports whether s is a UUID as Insigne stores them: lower case.
func isUUID(s string) bool {
	_, ok := uuidBytes(s)
	return ok && s == strings.ToLower(s)
}

// normUUID returns s in lower case if it is a UUID in either case.
func normUUID(s string) (string, bool) {
	if _, ok := uuidBytes(s); !ok {
		return "", false
	}
	return strings.ToLower(s), true
}

// URIs.

func caseURI(base, collection, id string) string {
	return strings.TrimRight(base, "/") + casePath + "/" + collection + "/" + id
}

// URI returns the CASE uri of the framework served from base:
// {base}/ims/case/v1p0/CFDocuments/{id}.
func (f Framework) URI(base string) string { return caseURI(base, "CFDocuments", f.Identifier) }

// ItemURI returns the CASE uri of the item id served from base,
// {base}/ims/case/v1p0/CFItems/{id}: the id of the item in Insigne and the
// targetUrl of alignments to it.
func ItemURI(base, id string) string { return caseURI(base, "CFItems", id) }

// Lookups.

// Item returns the first item whose human code is code.
func (f Framework) Item(code string) (Item, bool) {
	if code == "" {
		return Item{}, false
	}
	for _, it := range f.Items {
		if it.HumanCodingScheme == code {
			return it, true
		}
	}
	return Item{}, false
}

// ItemByID returns the item whose identifier is id.
func (f Framework) ItemByID(id string) (Item, bool) {
	for _, it := range f.Items {
		if it.Identifier == id {
			return it, true
		}
	}
	return Item{}, false
}

// Children returns the items whose parent is the item parentID ("" for the
// top level), ordered by the sequence number of their isChildOf association,
// then by document order.
func (f Framework) Children(parentID string) []Item {
	seq := make(map[string]int)
	for _, a := range f.Associations {
		if a.Type == IsChildOf {
			if _, seen := seq[a.Origin.Identifier]; !seen {
				seq[a.Origin.Identifier] = a.SequenceNumber
			}
		}
	}
	var out []Item
	for _, it := range f.Items {
		if it.Parent == parentID {
			out = append(out, it)
		}
	}
	slices.SortStableFunc(out, func(a, b Item) int { return seq[a.Identifier] - seq[b.Identifier] })
	return out
}

// Validate checks that f is a well-formed framework: identifiers are UUIDs
// and unique, every item has a statement, every association points to
// something, the isChildOf associations make a tree without cycles and
// agree with Item.Parent. The importers return only frameworks that pass it
// and the exporters refuse those that do not.
func (f Framework) Validate() error {
	if !isUUID(f.Identifier) {
		return inputErr("framework", "identifier %q is not a lower-case UUID", f.Identifier)
	}
	if strings.TrimSpace(f.Title) == "" {
		return inputErr("framework "+f.Identifier, "title is missing")
	}
	if len(f.Items) > MaxItems {
		return tooLarge("framework "+f.Identifier, "%d items, more than %d", len(f.Items), MaxItems)
	}
	if len(f.Associations) > MaxAssociations {
		return tooLarge("framework "+f.Identifier, "%d associations, more than %d", len(f.Associations), MaxAssociations)
	}
	if f.Moodle != nil && isUUID(f.Moodle.IDNumber) {
		return inputErr("framework "+f.Identifier, "Moodle idnumber %q is a UUID: it would be read back as the framework identifier", f.Moodle.IDNumber)
	}

	owner := map[string]string{f.Identifier: "the framework"} // identifier → what holds it
	claim := func(id, what string) error {
		if !isUUID(id) {
			return inputErr(what, "identifier %q is not a lower-case UUID", id)
		}
		if prev, dup := owner[id]; dup {
			return inputErr(what, "identifier %s is already the identifier of %s", id, prev)
		}
		owner[id] = what
		return nil
	}

	typeTitles := make(map[string]bool)
	for i, t := range f.ItemTypes {
		what := fmt.Sprintf("item type %d (%q)", i, t.Title)
		if err := claim(t.Identifier, what); err != nil {
			return err
		}
		if t.Title == "" {
			return inputErr(what, "title is missing")
		}
		if typeTitles[t.Title] {
			return inputErr(what, "another item type has the same title")
		}
		typeTitles[t.Title] = true
	}

	items := make(map[string]int, len(f.Items))
	exportIDs := make(map[string]string)
	for i, it := range f.Items {
		what := describe(it)
		if err := claim(it.Identifier, what); err != nil {
			return err
		}
		items[it.Identifier] = i
		if strings.TrimSpace(it.FullStatement) == "" {
			return inputErr(what, "fullStatement is missing")
		}
		if m := it.Moodle; m != nil && m.ExportID != "" {
			if isUUID(m.ExportID) {
				return inputErr(what, "Moodle exported id %q is a UUID: it would be read back as the item identifier", m.ExportID)
			}
			if prev, dup := exportIDs[m.ExportID]; dup {
				return inputErr(what, "Moodle exported id %q is also the exported id of %s", m.ExportID, prev)
			}
			exportIDs[m.ExportID] = what
		}
	}

	firstParent := make(map[string]string) // item → destination of its first isChildOf
	type edge struct{ typ, from, to string }
	seen := make(map[edge]string)
	for i, a := range f.Associations {
		what := fmt.Sprintf("association %d (%s)", i, a.Identifier)
		if err := claim(a.Identifier, what); err != nil {
			return err
		}
		if !slices.Contains(associationTypes, a.Type) {
			return inputErr(what, "association type %q is not one of %s", a.Type, strings.Join(associationTypes, ", "))
		}
		if a.Origin.Identifier == "" || a.Destination.Identifier == "" {
			return inputErr(what, "an end has no identifier")
		}
		_, originItem := items[a.Origin.Identifier]
		_, destItem := items[a.Destination.Identifier]
		originIn := originItem || a.Origin.Identifier == f.Identifier
		destIn := destItem || a.Destination.Identifier == f.Identifier
		for _, end := range []struct {
			name string
			ref  NodeRef
			in   bool
		}{{"origin", a.Origin, originIn}, {"destination", a.Destination, destIn}} {
			switch {
			case end.in && (end.ref.Title != "" || end.ref.URI != ""):
				return inputErr(what, "%s %s is in this framework and must not carry a title or uri", end.name, end.ref.Identifier)
			case !end.in && end.ref.URI == "":
				return inputErr(what, "%s %s is not in this framework and has no uri", end.name, end.ref.Identifier)
			}
		}
		if !originIn && !destIn {
			return inputErr(what, "neither end is in this framework")
		}
		if a.Type == IsChildOf {
			if !originItem {
				return inputErr(what, "isChildOf origin %s is not an item of this framework", a.Origin.Identifier)
			}
			if !destIn {
				return inputErr(what, "isChildOf destination %s is neither an item of this framework nor the framework", a.Destination.Identifier)
			}
			if _, ok := firstParent[a.Origin.Identifier]; !ok {
				firstParent[a.Origin.Identifier] = a.Destination.Identifier
			}
		}
		if a.Origin.Identifier == a.Destination.Identifier {
			return inputErr(what, "origin and destination are the same node %s", a.Origin.Identifier)
		}
		e := edge{a.Type, a.Origin.Identifier, a.Destination.Identifier}
		if prev, dup := seen[e]; dup {
			return inputErr(what, "repeats %s", prev)
		}
		seen[e] = what
	}

	for _, it := range f.Items {
		want, has := firstParent[it.Identifier]
		if want == f.Identifier {
			want = ""
		}
		switch {
		case it.Parent != "" && !has:
			return inputErr(describe(it), "has parent %s but no isChildOf association", it.Parent)
		case it.Parent != want:
			return inputErr(describe(it), "parent %q is not the destination of its first isChildOf association (%s)", it.Parent, want)
		}
	}
	return f.checkCycles(items)
}

// checkCycles refuses a cycle of isChildOf associations between items,
// naming the items on it. The walk is iterative: a hostile file may hold a
// chain of 50,000 items.
func (f Framework) checkCycles(items map[string]int) error {
	parents := make([][]int, len(f.Items))
	for _, a := range f.Associations {
		if a.Type != IsChildOf {
			continue
		}
		c, ok1 := items[a.Origin.Identifier]
		p, ok2 := items[a.Destination.Identifier]
		if ok1 && ok2 {
			parents[c] = append(parents[c], p)
		}
	}
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]byte, len(f.Items))
	type frame struct{ node, next int }
	for start := range f.Items {
		if state[start] != unvisited {
			continue
		}
		path := []frame{{start, 0}}
		state[start] = onPath
		for len(path) > 0 {
			top := &path[len(path)-1]
			if top.next == len(parents[top.node]) {
				state[top.node] = done
				path = path[:len(path)-1]
				continue
			}
			p := parents[top.node][top.next]
			top.next++
			switch state[p] {
			case unvisited:
				state[p] = onPath
				path = append(path, frame{p, 0})
			case onPath:
				var names []string
				in := false
				for _, fr := range path {
					if fr.node == p {
						in = true
					}
					if in {
						names = append(names, describe(f.Items[fr.node]))
					}
				}
				names = append(names, describe(f.Items[p]))
				return inputErr(describe(f.Items[p]), "isChildOf cycle: %s", strings.Join(names, " → "))
			}
		}
	}
	return nil
}

// describe names an item in an error message.
func describe(it Item) string {
	if it.HumanCodingScheme != "" {
		return fmt.Sprintf("item %s (%s)", it.Identifier, it.HumanCodingScheme)
	}
	return "item " + it.Identifier
}
