package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// wellFormed parses b as XML and returns the text of its <title>, <desc>
// and <text> elements.
func wellFormed(t *testing.T, b []byte) (title, desc string, texts []string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var in string
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, b)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			depth++
			in = x.Name.Local
		case xml.EndElement:
			depth--
			in = ""
		case xml.CharData:
			switch {
			case in == "title" && depth == 2:
				title = string(x)
			case in == "desc":
				desc = string(x)
			case in == "text":
				texts = append(texts, string(x))
			}
		}
	}
}

func TestBarsEscapesAndLabels(t *testing.T) {
	svg := Bars("c", "Badges <par> compétence", "Total & détail", []Datum{{Label: "CC14 <script>", Value: 12}, {Label: "F1.5", Value: 3}})
	title, desc, texts := wellFormed(t, svg)
	if title != "Badges <par> compétence" || desc != "Total & détail" {
		t.Errorf("title %q desc %q", title, desc)
	}
	joined := strings.Join(texts, "|")
	for _, want := range []string{"CC14 <script>", "12", "F1.5", "3"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no text %q in %q", want, joined)
		}
	}
	if bytes.Contains(svg, []byte("<script>")) {
		t.Error("a label was not escaped")
	}
	if !bytes.Contains(svg, []byte(`role="img" aria-labelledby="c-title c-desc"`)) {
		t.Error("not labelled by its title and description")
	}
}

func TestBarsCapsAndEmpty(t *testing.T) {
	var data []Datum
	for i := range 40 {
		data = append(data, Datum{Label: fmt.Sprintf("item %d", i), Value: 1})
	}
	_, _, texts := wellFormed(t, Bars("c", "t", "d", data))
	if !strings.Contains(strings.Join(texts, "|"), "autres (11)|11") {
		t.Errorf("the last bar should sum the 11 others: %q", texts)
	}
	_, _, texts = wellFormed(t, Bars("c", "t", "d", nil))
	if !strings.Contains(strings.Join(texts, "|"), "Aucune donnée") {
		t.Errorf("empty chart: %q", texts)
	}
}

func TestSeries(t *testing.T) {
	data := []Datum{{"2026-09", 4}, {"2026-10", 0}, {"2026-11", 9}}
	svg := Series("m", "Par mois", "Trois mois", data)
	_, _, texts := wellFormed(t, svg)
	joined := strings.Join(texts, "|")
	for _, want := range []string{"2026-09", "2026-10", "2026-11", "|9|", "|0|"} {
		if !strings.Contains("|"+joined+"|", want) {
			t.Errorf("no %q in %q", want, joined)
		}
	}
	if !bytes.Contains(svg, []byte("<polyline")) {
		t.Error("no line")
	}
	wellFormed(t, Series("m", "t", "d", nil))
	wellFormed(t, Series("m", "t", "d", data[:1]))
}
