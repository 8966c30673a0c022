package bake

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
)

// obNamespace is the XML namespace of the credential element.
const obNamespace = "https://purl.imsglobal.org/ob/v3p0"

// obPrefix is the prefix BakeSVG binds to obNamespace, as in the
// specification's examples.
const obPrefix = "openbadges"

// maxSVGDepth bounds element nesting. encoding/xml keeps a stack entry per
// open element; a 10 MiB file of "<a>" would otherwise cost hundreds of MiB.
// Real badge artwork is nowhere near this deep.
const maxSVGDepth = 1000

// svgCredential is one credential element found in an SVG.
type svgCredential struct {
	start, end int    // byte range of the element in the input
	payload    []byte // its verify attribute or text, trimmed
	err        error  // why the element is unusable, if it is
}

// svgDoc is what scanSVG learns about an SVG document.
type svgDoc struct {
	rootStart, rootEnd int  // byte range of the root start tag
	rootSelfClosing    bool // the root is written <svg .../>
	prefixURI          string
	prefixBound        bool // the root declares xmlns:openbadges (as prefixURI)
	prefixUndeclared   bool // some name uses the prefix openbadges undeclared
	creds              []svgCredential
}

// scanSVG parses svg with the streaming encoding/xml tokenizer and records
// the root start tag and every credential element, that is every element
// named "credential" in obNamespace whatever its prefix.
//
// encoding/xml never reads external resources and expands only the five
// predefined entities (a DTD's entity declarations are ignored and their
// use is a syntax error in strict mode), so neither XXE nor "billion
// laughs" applies.
func scanSVG(svg []byte) (svgDoc, error) {
	var doc svgDoc
	if err := checkSize(svg); err != nil {
		return doc, err
	}
	// encoding/xml rejects a byte order mark; skip it and shift offsets.
	base := 0
	if bytes.HasPrefix(svg, utf8BOM) {
		base = len(utf8BOM)
	}
	d := xml.NewDecoder(bytes.NewReader(svg[base:]))
	d.Strict = true

	var (
		depth     int
		seenRoot  bool
		cur       *svgCredential // credential element being read
		curDepth  int
		curVerify []byte
		hasVerify bool
		text      bytes.Buffer
	)
	for {
		start := base + int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return doc, fmt.Errorf("%w: svg: %w", ErrMalformed, err)
		}
		end := base + int(d.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			// Token leaves an undeclared prefix in Name.Space.
			if t.Name.Space == obPrefix || slices.ContainsFunc(t.Attr, func(a xml.Attr) bool { return a.Name.Space == obPrefix }) {
				doc.prefixUndeclared = true
			}
			if depth > maxSVGDepth {
				return doc, fmt.Errorf("%w: svg: elements nested deeper than %d", ErrMalformed, maxSVGDepth)
			}
			if depth == 1 {
				if seenRoot {
					return doc, fmt.Errorf("%w: svg: more than one root element", ErrMalformed)
				}
				seenRoot = true
				if t.Name.Local != "svg" {
					return doc, fmt.Errorf("%w: root element is <%s>, not <svg>", ErrUnknownFormat, t.Name.Local)
				}
				doc.rootStart, doc.rootEnd = start, end
				doc.rootSelfClosing = bytes.HasSuffix(svg[start:end], []byte("/>"))
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" && a.Name.Local == obPrefix {
						doc.prefixBound, doc.prefixURI = true, a.Value
					}
				}
				continue
			}
			if t.Name.Space != obNamespace || t.Name.Local != "credential" {
				continue
			}
			if cur != nil {
				return doc, fmt.Errorf("%w (one nested in the other)", ErrMultipleCredentials)
			}
			cur, curDepth = &svgCredential{start: start}, depth
			curVerify, hasVerify = nil, false
			text.Reset()
			for _, a := range t.Attr {
				if a.Name.Space == "" && a.Name.Local == "verify" {
					curVerify, hasVerify = []byte(a.Value), true
				}
			}
		case xml.CharData:
			if cur != nil && depth == curDepth {
				text.Write(t)
			}
		case xml.EndElement:
			if cur != nil && depth == curDepth {
				cur.end = end
				cur.payload, cur.err = credentialPayload(curVerify, hasVerify, text.Bytes())
				doc.creds = append(doc.creds, *cur)
				cur = nil
			}
			depth--
		}
	}
	if !seenRoot {
		return doc, fmt.Errorf("%w: svg: no root element", ErrMalformed)
	}
	return doc, nil
}

// credentialPayload picks the payload of a credential element: the verify
// attribute for a JWS, the text content (usually CDATA) for JSON.
func credentialPayload(verify []byte, hasVerify bool, text []byte) ([]byte, error) {
	verify, text = bytes.TrimSpace(verify), bytes.TrimSpace(text)
	switch {
	case hasVerify && len(text) > 0:
		// Which one would a verifier use? Refuse rather than guess.
		return nil, errors.New("credential element has both a verify attribute and content")
	case hasVerify && len(verify) > 0:
		return bytes.Clone(verify), nil
	case len(text) > 0:
		return bytes.Clone(text), nil
	}
	return nil, errors.New("empty credential element")
}

// UnbakeSVG returns the credential carried by an SVG image: the verify
// attribute (a compact JWS) or the text content (JSON) of its element
// {https://purl.imsglobal.org/ob/v3p0}credential. It returns ErrNotBaked if
// there is none and ErrMultipleCredentials if there are several.
func UnbakeSVG(svg []byte) ([]byte, error) {
	doc, err := scanSVG(svg)
	if err != nil {
		return nil, err
	}
	switch len(doc.creds) {
	case 0:
		return nil, ErrNotBaked
	case 1:
	default:
		return nil, fmt.Errorf("%w (elements at offsets %d and %d)", ErrMultipleCredentials, doc.creds[0].start, doc.creds[1].start)
	}
	c := doc.creds[0]
	if c.err != nil {
		return nil, fmt.Errorf("%w: svg: element at offset %d: %w", ErrMalformed, c.start, c.err)
	}
	return c.payload, nil
}

// BakeSVG returns a copy of svg carrying payload: it declares
// xmlns:openbadges on the root <svg> element and inserts, directly after
// its start tag, <openbadges:credential verify="…"/> for a compact JWS or
// <openbadges:credential><![CDATA[…]]></openbadges:credential> for JSON.
// It refuses an image that already carries a credential with
// ErrAlreadyBaked.
func BakeSVG(svg []byte, payload []byte) ([]byte, error) {
	return bakeSVG(svg, payload, false)
}

// RebakeSVG is like BakeSVG but first removes any credential element the
// image carries.
func RebakeSVG(svg []byte, payload []byte) ([]byte, error) {
	return bakeSVG(svg, payload, true)
}

func bakeSVG(svg, payload []byte, replace bool) ([]byte, error) {
	if len(payload) > MaxImageSize {
		return nil, fmt.Errorf("%w: payload of %d bytes", ErrTooLarge, len(payload))
	}
	kind, err := classifyPayload(payload)
	if err != nil {
		return nil, err
	}
	doc, err := scanSVG(svg)
	if err != nil {
		return nil, err
	}
	if len(doc.creds) > 0 && !replace {
		return nil, ErrAlreadyBaked
	}
	if doc.prefixBound && doc.prefixURI != obNamespace {
		return nil, fmt.Errorf("bake: svg root binds prefix %q to %q, not %q", obPrefix, doc.prefixURI, obNamespace)
	}
	if !doc.prefixBound && doc.prefixUndeclared {
		// Declaring the prefix on the root would turn those names into
		// Open Badges names, possibly into a second credential.
		return nil, fmt.Errorf("bake: svg uses the prefix %q without declaring it", obPrefix)
	}
	elem, err := credentialElement(kind, payload)
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	// Root start tag, with the namespace declaration before its ">" or "/>".
	tagEnd := doc.rootEnd - len(">")
	if doc.rootSelfClosing {
		tagEnd = doc.rootEnd - len("/>")
	}
	out.Write(svg[:tagEnd])
	if !doc.prefixBound {
		out.WriteString(` xmlns:` + obPrefix + `="` + obNamespace + `"`)
	}
	out.WriteString(">")
	out.Write(elem)
	if doc.rootSelfClosing {
		out.WriteString("</svg>")
	}
	// The rest, minus old credential elements (only present when replacing).
	off := doc.rootEnd
	for _, c := range doc.creds {
		out.Write(svg[off:c.start])
		off = c.end
	}
	out.Write(svg[off:])

	if out.Len() > MaxImageSize {
		// Refused so that everything baked here can be unbaked here.
		return nil, fmt.Errorf("%w: baked image would be %d bytes, limit %d", ErrTooLarge, out.Len(), MaxImageSize)
	}
	return out.Bytes(), nil
}

// credentialElement renders the credential element for a classified payload.
func credentialElement(kind payloadKind, payload []byte) ([]byte, error) {
	var b bytes.Buffer
	if kind == kindJWS {
		// A compact JWS is base64url and dots: nothing to escape.
		b.WriteString(`<` + obPrefix + `:credential verify="`)
		b.Write(payload)
		b.WriteString(`"/>`)
		return b.Bytes(), nil
	}
	// Valid JSON holds no raw control characters, but it may hold the
	// noncharacters U+FFFE and U+FFFF, which XML cannot carry.
	if bytes.Contains(payload, []byte("\uFFFE")) || bytes.Contains(payload, []byte("\uFFFF")) {
		return nil, errors.New(`bake: JSON payload contains U+FFFE or U+FFFF, which XML cannot carry; escape them as \uFFFE or \uFFFF`)
	}
	// "]]>" would end the CDATA section early: end the section between "]]"
	// and ">" and open a new one, which XML readers join back together.
	b.WriteString(`<` + obPrefix + `:credential><![CDATA[`)
	b.Write(bytes.ReplaceAll(payload, []byte("]]>"), []byte("]]]]><![CDATA[>")))
	b.WriteString(`]]></` + obPrefix + `:credential>`)
	return b.Bytes(), nil
}
