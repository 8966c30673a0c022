package competency

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"time"
)

// The data files are copies of ../shared/data/frameworks (see
// frameworks/README.md); their wording is verbatim from the official texts
// and must not be edited here.
//
//go:embed frameworks/rcpmpe-2013-referentiel-metiers-professorat-education.json frameworks/rcpf-2015-referentiel-formateur.json
var officialFiles embed.FS

// Keys of the official frameworks: the framework ids of the data files, from
// which their identifiers derive (DocumentID).
const (
	KeyRCPMPE2013 = "rcpmpe-2013"
	KeyRCPF2015   = "rcpf-2015"
)

// officialSource says how to turn a data file into a Framework. What the
// data files do not hold (creator, dates, notes) is ours and written here.
type officialSource struct {
	key, file string
	creator   string
	publisher string
	version   string
	// published is when the official text last changed: the day it was
	// published. Bump it if a wording in the data file is ever corrected.
	published time.Time
	notes     string
	// types maps the node types of the data file, in tree order, to the
	// titles of their CFItemTypes.
	types []struct{ code, title string }
}

var officialSources = []officialSource{
	{
		key:       KeyRCPMPE2013,
		file:      "frameworks/rcpmpe-2013-referentiel-metiers-professorat-education.json",
		creator:   "Ministère de l'éducation nationale",
		publisher: "Journal officiel de la République française",
		version:   "2013",
		published: time.Date(2013, 7, 18, 0, 0, 0, 0, time.UTC),
		notes: "Annexe de l'arrêté du 1er juillet 2013 relatif au référentiel des compétences professionnelles des métiers du professorat et de l'éducation " +
			"(NOR MENE1315928A), JO du 18 juillet 2013, BO n°30 du 25 juillet 2013 ; texte du Journal officiel. " +
			"Les codes CC1 à CC14 (« compétences 1 à 14 » dans le texte), CPE1 à CPE8 (C1 à C8 dans le texte), " +
			"les codes des sections et des groupes et la numérotation des items (CC6.5) sont des conventions d'Insigne ; " +
			"listEnumeration reprend la numérotation du texte.",
		types: []struct{ code, title string }{
			{"section", "Section"}, {"group", "Groupe"}, {"competency", "Compétence"}, {"item", "Item"},
		},
	},
	{
		key:       KeyRCPF2015,
		file:      "frameworks/rcpf-2015-referentiel-formateur.json",
		creator:   "Ministère de l'éducation nationale, de l'enseignement supérieur et de la recherche",
		publisher: "Bulletin officiel de l'éducation nationale",
		version:   "2015",
		published: time.Date(2015, 7, 23, 0, 0, 0, 0, time.UTC),
		notes: "Bulletin officiel n° 30 du 23 juillet 2015, annexe 1. " +
			"Les domaines F1 à F4 suivent la numérotation du texte ; la numérotation des compétences (F1.3) " +
			"et leur découpage en composantes (F1.4.b) sont des conventions d'Insigne ; " +
			"listEnumeration reprend la numérotation du texte.",
		types: []struct{ code, title string }{
			{"domain", "Domaine"}, {"competency", "Compétence"}, {"component", "Composante"},
		},
	},
}

// dataFormat is the layout version of the data files this code reads.
const dataFormat = "magistere-research/framework-v1"

type dataFile struct {
	Format    string `json:"format"`
	Framework struct {
		ID       string `json:"id"`
		Title    string `json:"title"`
		Language string `json:"language"`
	} `json:"framework"`
	Nodes []dataNode `json:"nodes"`
}

type dataNode struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Parent       *string `json:"parent"`
	OfficialCode *string `json:"official_code"`
	Title        string  `json:"title"`
	Text         string  `json:"text"`
	ShortName    string  `json:"short_name"`
	Context      *string `json:"context"`
}

// Official returns the two frameworks Insigne ships with, read from the
// embedded data files: the référentiel des compétences professionnelles des
// métiers du professorat et de l'éducation (2013) and the référentiel de
// compétences professionnelles du formateur de personnels enseignants et
// éducatifs (2015).
//
// Each call parses the files again (about two milliseconds) and returns
// frameworks the caller owns.
func Official() ([]Framework, error) {
	out := make([]Framework, 0, len(officialSources))
	for _, src := range officialSources {
		f, err := src.load()
		if err != nil {
			return nil, fmt.Errorf("competency: official framework %s: %w", src.key, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func (src officialSource) load() (Framework, error) {
	raw, err := officialFiles.ReadFile(src.file)
	if err != nil {
		return Framework{}, err
	}
	var d dataFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		return Framework{}, fmt.Errorf("%s: %w", src.file, err)
	}
	if d.Format != dataFormat {
		return Framework{}, fmt.Errorf("%s: format %q, want %q", src.file, d.Format, dataFormat)
	}
	if d.Framework.ID != src.key {
		return Framework{}, fmt.Errorf("%s: framework id %q, want %q", src.file, d.Framework.ID, src.key)
	}

	docID := DocumentID(src.key)
	f := Framework{
		Identifier:         docID,
		Title:              d.Framework.Title,
		Creator:            src.creator,
		Publisher:          src.publisher,
		Language:           d.Framework.Language,
		Version:            src.version,
		AdoptionStatus:     "Adopted",
		Notes:              src.notes,
		LastChangeDateTime: src.published,
	}
	typeTitle := make(map[string]string)
	for _, t := range src.types {
		typeTitle[t.code] = t.title
		f.ItemTypes = append(f.ItemTypes, ItemType{
			Identifier:         itemTypeID(docID, t.code),
			Title:              t.title,
			HierarchyCode:      t.code,
			LastChangeDateTime: src.published,
		})
	}

	ids := make(map[string]string) // data node id → item identifier
	siblings := make(map[string]int)
	for i, n := range d.Nodes {
		where := fmt.Sprintf("%s: nodes[%d] (%s)", src.file, i, n.ID)
		title, ok := typeTitle[n.Type]
		if !ok {
			return Framework{}, fmt.Errorf("%s: unknown node type %q", where, n.Type)
		}
		// The official wording is the title of a heading or the text of a
		// bullet; a node has one or the other.
		statement := n.Title
		if n.Text != "" {
			if n.Title != "" {
				return Framework{}, fmt.Errorf("%s: has both a title and a text", where)
			}
			statement = n.Text
		}
		if _, dup := ids[n.ID]; dup {
			return Framework{}, fmt.Errorf("%s: duplicate node id", where)
		}
		it := Item{
			Identifier:         ItemID(docID, n.ID),
			HumanCodingScheme:  n.ID,
			FullStatement:      statement,
			CFItemType:         title,
			Language:           d.Framework.Language,
			LastChangeDateTime: src.published,
		}
		// In 2013 the short name of a competency is its title; in 2015 it is
		// the bold lead of the bullet, worth keeping.
		if n.ShortName != statement {
			it.AbbreviatedStatement = n.ShortName
		}
		if n.OfficialCode != nil {
			it.ListEnumeration = *n.OfficialCode
		}
		// "En particulier, à l'école :" heads some P items; the statement
		// reads wrongly without it.
		if n.Context != nil {
			it.Notes = *n.Context
		}
		parentKey, dest := "", docID
		if n.Parent != nil {
			parentKey = *n.Parent
			pid, ok := ids[parentKey]
			if !ok {
				return Framework{}, fmt.Errorf("%s: parent %q does not come before it", where, parentKey)
			}
			it.Parent, dest = pid, pid
		}
		siblings[parentKey]++
		ids[n.ID] = it.Identifier
		f.Items = append(f.Items, it)
		f.Associations = append(f.Associations, Association{
			Identifier:         childOfID(docID, it.Identifier, dest),
			Type:               IsChildOf,
			Origin:             NodeRef{Identifier: it.Identifier},
			Destination:        NodeRef{Identifier: dest},
			SequenceNumber:     siblings[parentKey],
			LastChangeDateTime: src.published,
		})
	}
	if err := f.Validate(); err != nil {
		return Framework{}, err
	}
	return f, nil
}
