package attest

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"unicode/utf16"
)

// deflaters reuses zlib writers between documents. fpdf deflates each
// attachment with a new writer (~0.8 MB allocated, a third of an
// attestation's CPU time once the garbage collector is counted), so the
// credential is attached here instead.
type deflaters struct{ pool sync.Pool }

func (d *deflaters) deflate(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/2 + 64)
	w, _ := d.pool.Get().(*zlib.Writer)
	if w == nil {
		w, _ = zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	} else {
		w.Reset(&buf)
	}
	w.Write(b) // a bytes.Buffer does not fail
	w.Close()
	d.pool.Put(w)
	return buf.Bytes()
}

var (
	trailerRe    = regexp.MustCompile(`trailer\s*<<\s*/Size (\d+)\s*/Root (\d+) 0 R\s*/Info (\d+) 0 R\s*>>\s*startxref\s*(\d+)\s*%%EOF\s*$`)
	emptyFilesRe = regexp.MustCompile(`/EmbeddedFiles << /Names \[\s*\]`)
)

// attach adds a file to a PDF that fpdf wrote, as an incremental update
// (ISO 32000-1, 7.5.6): the embedded file stream, its file specification,
// and a new version of the catalog naming it in /EmbeddedFiles (and /AF,
// the associated files of the document), then a cross-reference section
// for these three objects only.
func attach(pdf []byte, d *deflaters, name, desc string, content []byte) ([]byte, error) {
	m := trailerRe.FindSubmatch(pdf[max(0, len(pdf)-512):])
	if m == nil {
		return nil, errors.New("attach: no trailer where fpdf writes it")
	}
	size, _ := strconv.Atoi(string(m[1]))
	root, info, prev := string(m[2]), string(m[3]), string(m[4])
	start := bytes.Index(pdf, []byte("\n"+root+" 0 obj\n"))
	if start < 0 {
		return nil, errors.New("attach: no catalog")
	}
	start += len("\n" + root + " 0 obj\n")
	end := bytes.Index(pdf[start:], []byte("\nendobj"))
	if end < 0 {
		return nil, errors.New("attach: catalog not terminated")
	}
	catalog := bytes.TrimSpace(pdf[start : start+end])
	// fpdf writes an empty name tree of embedded files.
	empty := emptyFilesRe.FindIndex(catalog)
	if !bytes.HasSuffix(catalog, []byte(">>")) || empty == nil {
		return nil, errors.New("attach: unexpected catalog")
	}

	z := d.deflate(content)
	fileObj, specObj := size, size+1
	out := bytes.NewBuffer(make([]byte, 0, len(pdf)+len(z)+1024))
	out.Write(pdf)
	offsets := make([]int, 3)
	offsets[0] = out.Len()
	fmt.Fprintf(out, "%d 0 obj\n<< /Type /EmbeddedFile /Subtype /application#2Fjson /Filter /FlateDecode /Length %d /Params << /Size %d >> >>\nstream\n",
		fileObj, len(z), len(content))
	out.Write(z)
	out.WriteString("\nendstream\nendobj\n")
	offsets[1] = out.Len()
	fmt.Fprintf(out, "%d 0 obj\n<< /Type /Filespec /F %s /UF %s /Desc %s /EF << /F %d 0 R /UF %d 0 R >> /AFRelationship /Source >>\nendobj\n",
		specObj, pdfString(name), pdfString(name), pdfString(desc), fileObj, fileObj)
	offsets[2] = out.Len()
	fmt.Fprintf(out, "%s 0 obj\n%s/EmbeddedFiles << /Names [%s %d 0 R]%s\n/AF [%d 0 R]\n>>\nendobj\n",
		root, catalog[:empty[0]], pdfString(name), specObj, bytes.TrimSuffix(catalog[empty[1]:], []byte(">>")), specObj)
	xref := out.Len()
	fmt.Fprintf(out, "xref\n0 1\n0000000000 65535 f \n%d 2\n%010d 00000 n \n%010d 00000 n \n%s 1\n%010d 00000 n \n",
		fileObj, offsets[0], offsets[1], root, offsets[2])
	fmt.Fprintf(out, "trailer\n<< /Size %d /Root %s 0 R /Info %s 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n", size+2, root, info, prev, xref)
	return out.Bytes(), nil
}

// pdfString writes a text string: literal when ASCII, else UTF-16BE with
// its byte order mark, escaped.
func pdfString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	var b []byte
	if ascii {
		b = []byte(s)
	} else {
		b = []byte{0xfe, 0xff}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u>>8), byte(u))
		}
	}
	var out bytes.Buffer
	out.WriteByte('(')
	for _, c := range b {
		switch c {
		case '(', ')', '\\':
			out.WriteByte('\\')
			out.WriteByte(c)
		case '\r':
			out.WriteString(`\r`)
		case '\n':
			out.WriteString(`\n`)
		default:
			out.WriteByte(c)
		}
	}
	out.WriteByte(')')
	return out.String()
}
