// Package chart draws small, accessible SVG charts on the server: a
// horizontal bar chart and a monthly time series. Every chart has a
// <title> and a <desc> (referenced by aria-labelledby), and every value is
// also written as text, so that a screen reader or a printout reads the
// figures without the drawing.
package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Datum is one labelled value.
type Datum struct {
	Label string
	Value int
}

// Colours of the French state design system (DSFR): blue France and grey,
// both with a contrast above 4.5:1 on white.
const (
	ink   = "#161616"
	bar   = "#000091"
	muted = "#666666"
	font  = `font-family="Marianne, Arial, sans-serif"`
)

// maxBars caps a bar chart; the rest is summed in a last bar.
const maxBars = 30

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// cut shortens a label to n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func header(b *bytes.Buffer, w, h int, id, title, desc string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc">`, w, h, w, h, id, id)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(title), id, esc(desc))
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`, w, h)
	fmt.Fprintf(b, `<text x="16" y="28" font-size="18" font-weight="bold" fill="%s" %s>%s</text>`, ink, font, esc(cut(title, 80)))
}

// Bars draws a horizontal bar chart, one bar per datum in the order given,
// with its label on the left and its value at the end of the bar. id must
// be unique in the page that embeds the chart.
func Bars(id, title, desc string, data []Datum) []byte {
	if len(data) > maxBars {
		rest := 0
		for _, d := range data[maxBars-1:] {
			rest += d.Value
		}
		data = append(append([]Datum(nil), data[:maxBars-1]...), Datum{Label: fmt.Sprintf("autres (%d)", len(data)-maxBars+1), Value: rest})
	}
	const (
		width  = 720
		labelW = 260
		rowH   = 28
		top    = 48
	)
	height := top + rowH*max(len(data), 1) + 16
	most := 0
	for _, d := range data {
		if d.Value > most {
			most = d.Value
		}
	}
	var b bytes.Buffer
	header(&b, width, height, id, title, desc)
	if len(data) == 0 {
		fmt.Fprintf(&b, `<text x="16" y="%d" font-size="14" fill="%s" %s>Aucune donnée</text>`, top+18, muted, font)
	}
	span := width - labelW - 80
	for i, d := range data {
		y := top + i*rowH
		w := 0
		if most > 0 {
			w = d.Value * span / most
		}
		fmt.Fprintf(&b, `<g><text x="%d" y="%d" font-size="13" text-anchor="end" fill="%s" %s>%s</text>`, labelW-8, y+18, ink, font, esc(cut(d.Label, 36)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s : %d</title></rect>`, labelW, y+4, w, rowH-8, bar, esc(d.Label), d.Value)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" fill="%s" %s>%d</text></g>`, labelW+w+6, y+18, ink, font, d.Value)
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

// Series draws a time series (one point per period, in order) as a line
// with its points, a value above each point and every period labelled on
// the axis (thinned when there are many).
func Series(id, title, desc string, data []Datum) []byte {
	const (
		width  = 720
		height = 320
		left   = 56
		right  = 24
		top    = 56
		bottom = 56
	)
	var b bytes.Buffer
	header(&b, width, height, id, title, desc)
	plotW, plotH := width-left-right, height-top-bottom
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`, left, top+plotH, left+plotW, top+plotH, muted)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`, left, top, left, top+plotH, muted)
	if len(data) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14" fill="%s" %s>Aucune donnée</text></svg>`, left+8, top+plotH/2, muted, font)
		return b.Bytes()
	}
	most := 1
	for _, d := range data {
		if d.Value > most {
			most = d.Value
		}
	}
	x := func(i int) int {
		if len(data) == 1 {
			return left + plotW/2
		}
		return left + i*plotW/(len(data)-1)
	}
	y := func(v int) int { return top + plotH - v*plotH/most }
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end" fill="%s" %s>%d</text>`, left-6, top+4, muted, font, most)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end" fill="%s" %s>0</text>`, left-6, top+plotH+4, muted, font)
	var pts bytes.Buffer
	for i, d := range data {
		if i > 0 {
			pts.WriteByte(' ')
		}
		pts.WriteString(strconv.Itoa(x(i)) + "," + strconv.Itoa(y(d.Value)))
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, pts.String(), bar)
	every := (len(data) + 11) / 12 // at most about twelve axis labels
	for i, d := range data {
		fmt.Fprintf(&b, `<g><circle cx="%d" cy="%d" r="4" fill="%s"><title>%s : %d</title></circle>`, x(i), y(d.Value), bar, esc(d.Label), d.Value)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="%s" %s>%d</text>`, x(i), y(d.Value)-8, ink, font, d.Value)
		if i%every == 0 || i == len(data)-1 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="%s" %s>%s</text>`, x(i), top+plotH+20, ink, font, esc(cut(d.Label, 12)))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}
