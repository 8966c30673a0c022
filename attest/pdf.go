package attest

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	qr "github.com/piglig/go-qr"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/text/encoding/charmap"
)

// An attestation is set in Helvetica, a standard PDF font that every
// reader has, with the Windows-1252 (WinAnsi) encoding: it holds every
// French letter, œ, « », ’, – and …, and costs nothing per document. An
// embedded TrueType font costs ~5 ms of CPU per document in go-pdf/fpdf,
// which parses, serialises and subsets it again for each one, and fpdf
// gives no way to share that work. A document whose text has a character
// outside WinAnsi (a name in Polish or Turkish, the ― of some official
// statements) is set in the embedded Go font instead, which covers Latin-1
// and Latin Extended-A: slower, but every character printed as given.
const (
	coreFamily = "Helvetica"
	fontFamily = "go" // the Go fonts (BSD licence, golang.org/x/image)
)

// AttachmentName is the file name of the credential inside the PDF.
const AttachmentName = "attestation-openbadge.json"

// rendering is one attestation to draw.
type rendering struct {
	Fields     Fields
	Code       string
	VerifyURL  string
	Credential []byte // the signed credential, attached as a file
}

func newDoc() *fpdf.Fpdf { return newDocIn(false) }

// newDocIn starts a document in the core font (core) or the embedded one.
func newDocIn(core bool) *fpdf.Fpdf {
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	if !core {
		f.AddUTF8FontFromBytes(fontFamily, "", goregular.TTF)
	} else {
		f.SetCompression(false)
	}
	f.SetLang("fr-FR")
	f.SetCreator("Insigne", true)
	f.SetProducer("Insigne (go-pdf/fpdf)", true)
	f.SetMargins(20, 18, 20)
	f.SetAutoPageBreak(true, 18)
	f.SetDisplayMode("fullwidth", "single")
	return f
}

// frenchDate writes a date as 12 octobre 2026.
func frenchDate(t time.Time) string {
	months := [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
		"septembre", "octobre", "novembre", "décembre"}
	d := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		d = "1er"
	}
	return fmt.Sprintf("%s %s %d", d, months[t.Month()-1], t.Year())
}

func dateOf(s string) string {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return frenchDate(t)
}

// Hours writes a duration in hours the French way: 6 h, 1 h 30, 0 h 45.
func Hours(h float64) string {
	whole := math.Floor(h)
	min := int(math.Round((h - whole) * 60))
	if min == 0 {
		return fmt.Sprintf("%d h", int(whole))
	}
	return fmt.Sprintf("%d h %02d", int(whole), min)
}

// render draws the attestation and returns the PDF.
func render(r rendering, z *deflaters) ([]byte, error) {
	fl := r.Fields
	core := winAnsi(r.strings()...)
	f := newDocIn(core)
	p := pen{f: f, core: core}
	title := "Attestation de formation – " + fl.Learner.Name + " – " + fl.Training.Title
	f.SetTitle(title, true)
	f.SetSubject("Attestation de formation", true)
	f.SetAuthor(fl.IssuerName, true)
	f.SetKeywords("attestation formation Open Badges "+r.Code, true)
	f.SetCreationDate(fl.IssuedAt)
	f.SetModificationDate(fl.IssuedAt)
	if err := draw(p, r, AttachmentName, ""); err != nil {
		return nil, err
	}
	pdf, err := output(f)
	if err != nil {
		return nil, err
	}
	return attach(pdf, z, AttachmentName, "Attestation signée (Open Badges 3.0, Verifiable Credential)", r.Credential)
}

// draw puts one attestation on a new page (two when its competencies
// fill the first); attachment names the file its credential is in, and
// bookmark, if not empty, is the outline entry of its first page.
func draw(p pen, r rendering, attachment, bookmark string) error {
	f := p.f
	fl := r.Fields
	t := fl.Training
	f.AddPage()
	if bookmark != "" {
		p.font(false, 10)
		f.Bookmark(p.t(bookmark), 0, 0)
	}
	w := 170.0

	p.font(true, 11)
	f.MultiCell(w, 5.5, p.t(fl.IssuerName), "", "L", false)
	p.font(false, 10)
	f.MultiCell(w, 5, p.t(t.Organiser), "", "L", false)
	f.Ln(8)
	p.font(true, 18)
	f.MultiCell(w, 9, p.t("Attestation de formation"), "", "C", false)
	f.Ln(6)

	p.font(false, 11)
	f.MultiCell(w, 6, p.t(fmt.Sprintf("Je soussigné(e), %s, %s, atteste que", t.Signatory.Name, t.Signatory.Role)), "", "L", false)
	f.Ln(2)
	p.font(true, 14)
	f.MultiCell(w, 8, p.t(fl.Learner.Name), "", "C", false)
	f.Ln(2)
	p.font(false, 11)
	f.MultiCell(w, 6, p.t("a suivi la formation suivante."), "", "L", false)
	f.Ln(3)

	row := func(label, value string) {
		if value == "" {
			return
		}
		p.font(true, 10.5)
		f.CellFormat(52, 6, p.t(label), "", 0, "L", false, 0, "")
		p.font(false, 10.5)
		f.MultiCell(w-52, 6, p.t(value), "", "L", false)
	}
	row("Intitulé :", t.Title)
	row("Parcours (matricule) :", t.Parcours)
	row("Dispositif GAIA :", t.GaiaDispositif)
	row("Module GAIA :", t.GaiaModule)
	row("Session GAIA :", t.GaiaSession)
	if t.Start == t.End {
		row("Date :", "le "+dateOf(t.Start))
	} else {
		row("Dates :", "du "+dateOf(t.Start)+" au "+dateOf(t.End))
	}
	row("Durée en présence :", Hours(t.HoursInPerson))
	row("Durée à distance :", Hours(t.HoursRemote))
	row("Durée totale :", Hours(t.HoursInPerson+t.HoursRemote))
	row("Modalité :", fl.Modality)
	row("Organisateur :", t.Organiser)
	row("Formateurs :", strings.Join(t.Trainers, ", "))

	if len(fl.Competencies) > 0 {
		f.Ln(3)
		p.font(true, 10.5)
		f.MultiCell(w, 6, p.t("Compétences travaillées :"), "", "L", false)
		p.font(false, 9.5)
		for _, c := range fl.Competencies {
			f.MultiCell(w, 5, p.t("• "+c.Code+" – "+c.Statement), "", "L", false)
		}
	}

	f.Ln(5)
	p.font(false, 10.5)
	place := t.Place
	issued := "Fait le " + frenchDate(fl.IssuedAt)
	if place != "" {
		issued = "Fait à " + place + ", le " + frenchDate(fl.IssuedAt)
	}
	f.MultiCell(w, 6, p.t(issued), "", "L", false)
	f.Ln(2)
	f.SetX(110)
	p.font(true, 10.5)
	f.MultiCell(80, 5.5, p.t(t.Signatory.Name), "", "L", false)
	f.SetX(110)
	p.font(false, 10)
	f.MultiCell(80, 5, p.t(t.Signatory.Role), "", "L", false)
	if kind := imageType(t.Signatory.Image); kind != "" {
		opt := fpdf.ImageOptions{ImageType: kind}
		f.RegisterImageOptionsReader("signature", opt, bytes.NewReader(t.Signatory.Image))
		if f.Ok() {
			f.ImageOptions("signature", 110, f.GetY()+1, 0, 18, true, opt, 0, "")
		} else {
			f.ClearError()
		}
	}

	// The proof block sits at the foot of the page, or on the next page
	// when the competencies filled this one.
	const boxH = 44
	if f.GetY() > 297-18-boxH-4 {
		f.AddPage()
	}
	y := 297.0 - 18 - boxH
	f.SetDrawColor(120, 120, 120)
	f.SetLineWidth(0.3)
	f.Rect(20, y, w, boxH, "D")
	if err := drawQR(f, r.VerifyURL, 23, y+3, 38); err != nil {
		return err
	}
	f.SetXY(66, y+4)
	p.font(true, 10.5)
	f.MultiCell(120, 5.5, p.t("Vérifier cette attestation"), "", "L", false)
	f.SetX(66)
	p.font(false, 9.5)
	f.MultiCell(120, 5, p.t("Scannez le QR code ou ouvrez "+r.VerifyURL), "", "L", false)
	f.SetX(66)
	f.MultiCell(120, 5, p.t("Code de vérification :"), "", "L", false)
	f.SetX(66)
	p.font(true, 13)
	f.MultiCell(120, 7, p.t(FormatCode(r.Code)), "", "L", false)
	f.SetX(66)
	p.font(false, 8.5)
	f.MultiCell(120, 4.2, p.t("Ce document contient sa preuve : une attestation numérique signée (Open Badges 3.0) en pièce jointe « "+attachment+" »."), "", "L", false)
	return nil
}

// output finishes a document.
func output(f *fpdf.Fpdf) ([]byte, error) {
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("attestation PDF: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(48 << 10)
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("attestation PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// drawQR draws a QR code as filled rectangles: vector, crisp at any zoom,
// and much smaller and faster than an embedded image.
func drawQR(f *fpdf.Fpdf, content string, x, y, size float64) error {
	q, err := qr.EncodeText(content, qr.Medium)
	if err != nil {
		return fmt.Errorf("QR code: %w", err)
	}
	n := q.Size()
	m := size / float64(n)
	f.SetFillColor(0, 0, 0)
	for i := range n {
		for j := 0; j < n; {
			if !q.Module(j, i) {
				j++
				continue
			}
			k := j
			for k < n && q.Module(k, i) {
				k++
			}
			f.Rect(x+float64(j)*m, y+float64(i)*m, float64(k-j)*m, m, "F")
			j = k
		}
	}
	return nil
}

// pen writes in the document's font: the core font takes WinAnsi bytes,
// the embedded one UTF-8.
type pen struct {
	f    *fpdf.Fpdf
	core bool
}

func (p pen) font(bold bool, size float64) {
	if !p.core {
		setFont(p.f, bold, size)
		return
	}
	style := ""
	if bold {
		style = "B"
	}
	p.f.SetFont(coreFamily, style, size)
}

// t converts text for the core font; winAnsi said it fits.
func (p pen) t(s string) string {
	if !p.core {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c, _ := charmap.Windows1252.EncodeRune(r)
		b = append(b, c)
	}
	return string(b)
}

// winAnsi tells whether every character of ss has a glyph in the core
// fonts' WinAnsi encoding.
func winAnsi(ss ...string) bool {
	for _, s := range ss {
		for _, r := range s {
			if r < 0x80 {
				continue
			}
			if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
				return false
			}
		}
	}
	return true
}

// strings lists every text the attestation prints but the fixed wording.
func (r rendering) strings() []string {
	t := r.Fields.Training
	out := []string{r.Fields.Learner.Name, r.Fields.IssuerName, r.Fields.Modality, r.VerifyURL, r.Code,
		t.Title, t.Parcours, t.GaiaDispositif, t.GaiaModule, t.GaiaSession, t.Organiser, t.Place,
		t.Signatory.Name, t.Signatory.Role}
	out = append(out, t.Trainers...)
	for _, c := range r.Fields.Competencies {
		out = append(out, c.Code, c.Statement)
	}
	return out
}

// setFont selects the one embedded face; bold is drawn by stroking the
// glyph outlines too (text rendering mode 2), which costs nothing where a
// second embedded face would double the font work of every document.
func setFont(f *fpdf.Fpdf, bold bool, size float64) {
	f.SetFont(fontFamily, "", size)
	if bold {
		f.SetLineWidth(size * 0.0035)
		f.SetTextRenderingMode(2)
		return
	}
	f.SetTextRenderingMode(0)
}
