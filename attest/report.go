package attest

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// AttendanceReport renders the collective attendance report of a session
// as the platform knows it ("attestation de présence" of block_progress):
// title, reference, dates, distance duration, trainers, numbers enrolled
// and present, then one row per participant with their establishment and
// Présent(e)/Absent(e).
func AttendanceReport(sess Session, issuerName string, at time.Time) ([]byte, error) {
	if err := sess.check(); err != nil {
		return nil, err
	}
	t := sess.Training
	f := newDoc()
	f.SetTitle("Rapport de présence – "+t.Title, true)
	f.SetSubject("Rapport de présence collectif", true)
	f.SetAuthor(issuerName, true)
	f.SetCreationDate(at)
	f.SetModificationDate(at)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-14)
		setFont(f, false, 8)
		f.CellFormat(0, 5, fmt.Sprintf("Page %d / {nb}", f.PageNo()), "", 0, "C", false, 0, "")
	})
	f.AddPage()
	w := 170.0
	setFont(f, true, 11)
	f.MultiCell(w, 5.5, issuerName, "", "L", false)
	setFont(f, false, 10)
	f.MultiCell(w, 5, t.Organiser, "", "L", false)
	f.Ln(5)
	setFont(f, true, 16)
	f.MultiCell(w, 8, "Rapport de présence", "", "C", false)
	f.Ln(4)

	present := 0
	for _, p := range sess.Participants {
		if p.Present {
			present++
		}
	}
	row := func(label, value string) {
		if value == "" {
			return
		}
		setFont(f, true, 10)
		f.CellFormat(48, 5.5, label, "", 0, "L", false, 0, "")
		setFont(f, false, 10)
		f.MultiCell(w-48, 5.5, value, "", "L", false)
	}
	row("Intitulé :", t.Title)
	row("Réf :", sess.Reference)
	row("Parcours (matricule) :", t.Parcours)
	var gaia []string
	if t.GaiaDispositif != "" {
		gaia = append(gaia, "Dispositif "+t.GaiaDispositif)
	}
	if t.GaiaModule != "" {
		gaia = append(gaia, "Module "+t.GaiaModule)
	}
	if t.GaiaSession != "" {
		gaia = append(gaia, "Session "+t.GaiaSession)
	}
	row("GAIA :", strings.Join(gaia, " / "))
	if t.Start == t.End {
		row("Date :", "le "+dateOf(t.Start))
	} else {
		row("Dates :", "du "+dateOf(t.Start)+" au "+dateOf(t.End))
	}
	row("Durée en présence :", Hours(t.HoursInPerson))
	row("Durée à distance :", Hours(t.HoursRemote))
	row("Formateurs :", strings.Join(t.Trainers, ", "))
	row("Inscrits :", fmt.Sprint(len(sess.Participants)))
	row("Présents :", fmt.Sprint(present))
	row("Rapport édité le :", frenchDate(at))
	row("Commentaire :", sess.Comment)
	f.Ln(5)

	cols := []float64{62, 80, 28}
	header := func() {
		setFont(f, true, 9.5)
		f.SetFillColor(230, 230, 230)
		f.SetLineWidth(0.2)
		for i, h := range []string{"Nom Prénom", "Établissement", "Présence"} {
			f.CellFormat(cols[i], 7, h, "1", 0, "L", true, 0, "")
		}
		f.Ln(-1)
	}
	header()
	setFont(f, false, 9)
	for _, p := range sess.Participants {
		if f.GetY() > 297-18-8 {
			f.AddPage()
			header()
			setFont(f, false, 9)
		}
		f.SetLineWidth(0.2)
		state := "Absent(e)"
		if p.Present {
			state = "Présent(e)"
		}
		f.CellFormat(cols[0], 6.5, clip(f.GetStringWidth, p.Name, cols[0]-2), "1", 0, "L", false, 0, "")
		f.CellFormat(cols[1], 6.5, clip(f.GetStringWidth, p.Establishment, cols[1]-2), "1", 0, "L", false, 0, "")
		f.CellFormat(cols[2], 6.5, state, "1", 1, "L", false, 0, "")
	}
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("attendance report: %w", err)
	}
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("attendance report: %w", err)
	}
	return buf.Bytes(), nil
}

// clip shortens s with an ellipsis to fit width w.
func clip(width func(string) float64, s string, w float64) string {
	if width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && width(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
