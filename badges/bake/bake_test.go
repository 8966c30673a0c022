package bake

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const examples = "../../testdata/examples/1edtech-validator-ob30"

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examples, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exampleJWS is a real compact JWS extracted by the official validator.
func exampleJWS(t testing.TB) []byte {
	return readExample(t, "extracted/simple-jwt.png.jws")
}

const sampleJSON = `{"@context":["https://www.w3.org/ns/credentials/v2"],"id":"urn:uuid:1","type":["VerifiableCredential"],"name":"a ]]> b ]]]]> c"}`

// TestUnbakeExamples reads the baked images of the official 1EdTech
// validator. The expected JWS strings were extracted by that validator.
func TestUnbakeExamples(t *testing.T) {
	tests := []struct {
		file, format string
		jws          string // file holding the expected JWS; "" for JSON
	}{
		{"simple-json.png", FormatPNG, ""},
		{"simple-json.svg", FormatSVG, ""},
		{"simple-jwt.png", FormatPNG, "extracted/simple-jwt.png.jws"},
		{"simple-jwt.svg", FormatSVG, "extracted/simple-jwt.svg.jws"},
		{"simple-jwt_v1.png", FormatPNG, "extracted/simple-jwt_v1.png.jws"},
		// The _v1 SVG carries the same JWS as the _v1 PNG.
		{"simple-jwt_v1.svg", FormatSVG, "extracted/simple-jwt_v1.png.jws"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			img := readExample(t, tt.file)
			got, format, err := Unbake(img)
			if err != nil {
				t.Fatalf("Unbake: %v", err)
			}
			if format != tt.format {
				t.Errorf("format = %q, want %q", format, tt.format)
			}
			// The format-specific function must agree with Unbake.
			unbake := UnbakePNG
			if tt.format == FormatSVG {
				unbake = UnbakeSVG
			}
			if again, err := unbake(img); err != nil || !bytes.Equal(again, got) {
				t.Errorf("Unbake%s disagrees with Unbake: err=%v", strings.ToUpper(tt.format), err)
			}
			if tt.jws != "" {
				if want := readExample(t, tt.jws); !bytes.Equal(got, want) {
					t.Errorf("payload differs from %s:\n got %.60q…\nwant %.60q…", tt.jws, got, want)
				}
				if err := checkCompactJWS(got); err != nil {
					t.Errorf("payload is not a compact JWS: %v", err)
				}
				return
			}
			var cred map[string]any
			if err := json.Unmarshal(got, &cred); err != nil {
				t.Fatalf("payload is not JSON: %v", err)
			}
			if id := cred["id"]; id != "http://example.com/credentials/3527" {
				t.Errorf("id = %v", id)
			}
			if _, ok := cred["proof"]; !ok {
				t.Error("credential has no proof")
			}
		})
	}
}

// testPNG encodes a small image whose pixels all differ.
func testPNG(t testing.TB) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for y := range 5 {
		for x := range 7 {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 30), uint8(y * 50), uint8(x * y), uint8(255 - x - y)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func samePixels(t *testing.T, a, b []byte) {
	t.Helper()
	ma, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("decode original: %v", err)
	}
	mb, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("image/png cannot decode the baked image: %v", err)
	}
	if ma.Bounds() != mb.Bounds() {
		t.Fatalf("bounds %v, want %v", mb.Bounds(), ma.Bounds())
	}
	r := ma.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if ca, cb := color.NRGBA64Model.Convert(ma.At(x, y)), color.NRGBA64Model.Convert(mb.At(x, y)); ca != cb {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, cb, ca)
			}
		}
	}
}

func TestBakePNGRoundTrip(t *testing.T) {
	for name, payload := range map[string][]byte{"json": []byte(sampleJSON), "jws": exampleJWS(t)} {
		t.Run(name, func(t *testing.T) {
			img := testPNG(t)
			baked, err := BakePNG(img, payload)
			if err != nil {
				t.Fatalf("BakePNG: %v", err)
			}
			got, format, err := Unbake(baked)
			if err != nil || format != FormatPNG {
				t.Fatalf("Unbake: %q, %v", format, err)
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("round trip: got %q, want %q", got, payload)
			}
			samePixels(t, img, baked)

			// The chunk is exactly the one the specification describes,
			// right after IHDR.
			want := []byte("iTXtopenbadgecredential\x00\x00\x00\x00\x00" + string(payload))
			c := baked[ihdrEnd:]
			if n := binary.BigEndian.Uint32(c); int(n) != len(want)-4 {
				t.Fatalf("chunk length = %d, want %d", n, len(want)-4)
			}
			if !bytes.HasPrefix(c[4:], want) {
				t.Fatalf("chunk after IHDR = %.40q, want %.40q", c[4:], want)
			}
			if crc := binary.BigEndian.Uint32(c[4+len(want):]); crc != crc32.ChecksumIEEE(want) {
				t.Error("bad CRC")
			}
			if !bytes.Equal(baked[:ihdrEnd], img[:ihdrEnd]) || !bytes.Equal(baked[ihdrEnd+len(want)+8:], img[ihdrEnd:]) {
				t.Error("the other chunks changed")
			}
		})
	}
}

func TestBakeTwiceRefused(t *testing.T) {
	jws := exampleJWS(t)
	pngImg, err := BakePNG(testPNG(t), jws)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BakePNG(pngImg, jws); !errors.Is(err, ErrAlreadyBaked) {
		t.Errorf("BakePNG twice: err = %v, want ErrAlreadyBaked", err)
	}
	svgImg, err := BakeSVG([]byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), jws)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BakeSVG(svgImg, jws); !errors.Is(err, ErrAlreadyBaked) {
		t.Errorf("BakeSVG twice: err = %v, want ErrAlreadyBaked", err)
	}
	for _, f := range []string{"simple-json.png", "simple-jwt.png"} {
		if _, err := BakePNG(readExample(t, f), jws); !errors.Is(err, ErrAlreadyBaked) {
			t.Errorf("BakePNG(%s): err = %v, want ErrAlreadyBaked", f, err)
		}
	}
	for _, f := range []string{"simple-json.svg", "simple-jwt.svg"} {
		if _, err := BakeSVG(readExample(t, f), jws); !errors.Is(err, ErrAlreadyBaked) {
			t.Errorf("BakeSVG(%s): err = %v, want ErrAlreadyBaked", f, err)
		}
	}
}

func TestRebake(t *testing.T) {
	payload := []byte(sampleJSON)
	for _, f := range []string{"simple-jwt.png", "simple-json.png"} {
		orig := readExample(t, f)
		img, err := RebakePNG(orig, payload)
		if err != nil {
			t.Fatalf("RebakePNG(%s): %v", f, err)
		}
		if got, err := UnbakePNG(img); err != nil || !bytes.Equal(got, payload) {
			t.Errorf("%s: after RebakePNG: %q, %v", f, got, err)
		}
		samePixels(t, orig, img)
	}
	for _, f := range []string{"simple-jwt.svg", "simple-json.svg"} {
		img, err := RebakeSVG(readExample(t, f), payload)
		if err != nil {
			t.Fatalf("RebakeSVG(%s): %v", f, err)
		}
		if got, err := UnbakeSVG(img); err != nil || !bytes.Equal(got, payload) {
			t.Errorf("%s: after RebakeSVG: %q, %v", f, got, err)
		}
		// The example already declares the prefix: no duplicate attribute.
		if n := bytes.Count(img, []byte("xmlns:openbadges=")); n != 1 {
			t.Errorf("%s: %d declarations of xmlns:openbadges", f, n)
		}
	}
}

// pngWithChunks returns img with raw chunks inserted after IHDR.
func pngWithChunks(img []byte, chunks ...[]byte) []byte {
	out := append([]byte(nil), img[:ihdrEnd]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, img[ihdrEnd:]...)
}

// rawChunk builds a chunk with a correct CRC.
func rawChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(append(c, typ...), data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

func compressedITXt(t testing.TB, text []byte) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(text); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := append([]byte(pngKeyword+"\x00\x01\x00en\x00Open Badge\x00"), z.Bytes()...)
	return rawChunk("iTXt", data)
}

func TestUnbakePNGCompressed(t *testing.T) {
	jws := exampleJWS(t)
	got, err := UnbakePNG(pngWithChunks(testPNG(t), compressedITXt(t, jws)))
	if err != nil || !bytes.Equal(got, jws) {
		t.Fatalf("compressed iTXt: %q, %v", got, err)
	}

	// 11 MiB of zeros compress to a few KiB: must be refused, not inflated.
	bomb := pngWithChunks(testPNG(t), compressedITXt(t, make([]byte, 11<<20)))
	if len(bomb) > 100<<10 {
		t.Fatalf("bomb is %d bytes, expected it to be small", len(bomb))
	}
	if _, err := UnbakePNG(bomb); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("zlib bomb: err = %v", err)
	}
}

func TestUnbakePNGTwoCredentials(t *testing.T) {
	jws := exampleJWS(t)
	var first []byte
	first = appendCredentialChunk(first, jws)
	var second []byte
	second = appendCredentialChunk(second, []byte(sampleJSON))
	for name, img := range map[string][]byte{
		"both uncompressed": pngWithChunks(testPNG(t), first, second),
		"same twice":        pngWithChunks(testPNG(t), first, first),
		"one compressed":    pngWithChunks(testPNG(t), first, compressedITXt(t, jws)),
		"example + one":     pngWithChunks(readExample(t, "simple-jwt.png"), second),
	} {
		if _, err := UnbakePNG(img); !errors.Is(err, ErrMultipleCredentials) {
			t.Errorf("%s: err = %v, want ErrMultipleCredentials", name, err)
		}
		if _, err := BakePNG(img, jws); !errors.Is(err, ErrAlreadyBaked) {
			t.Errorf("%s: BakePNG err = %v, want ErrAlreadyBaked", name, err)
		}
		// RebakePNG removes every old credential.
		re, err := RebakePNG(img, jws)
		if err != nil {
			t.Fatalf("%s: RebakePNG: %v", name, err)
		}
		if got, err := UnbakePNG(re); err != nil || !bytes.Equal(got, jws) {
			t.Errorf("%s: after RebakePNG: %v", name, err)
		}
	}
	// Other text chunks, and an OB 2.0 assertion, are not credentials.
	other := pngWithChunks(testPNG(t), rawChunk("iTXt", []byte("openbadges\x00\x00\x00\x00\x00{}")), rawChunk("tEXt", []byte("openbadgecredential\x00x")))
	if _, err := UnbakePNG(other); !errors.Is(err, ErrNotBaked) {
		t.Errorf("no OB3 credential: err = %v, want ErrNotBaked", err)
	}
}

func TestUnbakePNGMalformed(t *testing.T) {
	good, err := BakePNG(testPNG(t), exampleJWS(t))
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	// Offset of the first chunk after IHDR (our iTXt) and of IDAT.
	itxt := ihdrEnd
	idat := bytes.Index(good, []byte("IDAT")) - 4

	tests := []struct {
		name string
		img  []byte
		want string
	}{
		{"empty", nil, "bad signature"},
		{"not png", []byte("GIF89a......................"), "bad signature"},
		{"signature only", good[:8], "missing IEND"},
		{"truncated header", good[:ihdrEnd+5], "truncated chunk header"},
		{"truncated chunk", good[:ihdrEnd+100], "only"},
		{"truncated IDAT", good[:idat+20], "only"},
		{"no IEND", good[:len(good)-12], "missing IEND"},
		{"payload CRC", mutate(func(b []byte) []byte { b[itxt+40] ^= 1; return b }), "CRC mismatch"},
		{"IDAT CRC", mutate(func(b []byte) []byte { b[idat+9] ^= 0x80; return b }), "CRC mismatch"},
		{"IEND CRC", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), "CRC mismatch"},
		{"huge length", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[itxt:], 0x7FFFFFF0); return b }), "only"},
		{"length above 2^31", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[itxt:], 0xFFFFFFFF); return b }), "PNG limit"},
		{"bad chunk type", mutate(func(b []byte) []byte { b[idat+4] = '1'; return b }), "invalid chunk type"},
		{"IHDR not first", append(append(bytes.Clone(good[:8]), rawChunk("tEXt", []byte("a\x00b"))...), good[8:]...), "want IHDR"},
		{"bad compression flag", pngWithChunks(testPNG(t), rawChunk("iTXt", []byte(pngKeyword+"\x00\x02\x00\x00\x00x"))), "compression flag"},
		{"bad method", pngWithChunks(testPNG(t), rawChunk("iTXt", []byte(pngKeyword+"\x00\x01\x07\x00\x00x"))), "compression method"},
		{"bad zlib", pngWithChunks(testPNG(t), rawChunk("iTXt", []byte(pngKeyword+"\x00\x01\x00\x00\x00notzlib"))), "zlib"},
		{"unterminated", pngWithChunks(testPNG(t), rawChunk("iTXt", []byte(pngKeyword+"\x00\x00\x00en"))), "unterminated"},
		{"empty text", pngWithChunks(testPNG(t), rawChunk("iTXt", []byte(pngKeyword+"\x00\x00\x00\x00\x00"))), "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnbakePNG(tt.img)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrMalformed mentioning %q", err, tt.want)
			}
			// Either malformed, or carrying a (broken) credential already.
			if _, err := BakePNG(tt.img, exampleJWS(t)); err == nil {
				t.Error("BakePNG accepted the image")
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	big := make([]byte, MaxImageSize+1)
	copy(big, pngSignature)
	if _, err := UnbakePNG(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("UnbakePNG: err = %v, want ErrTooLarge", err)
	}
	if _, _, err := Unbake(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Unbake: err = %v, want ErrTooLarge", err)
	}
	svg := append([]byte("<svg>"), big[:MaxImageSize]...)
	if _, err := UnbakeSVG(svg); !errors.Is(err, ErrTooLarge) {
		t.Errorf("UnbakeSVG: err = %v, want ErrTooLarge", err)
	}
	// A payload that would push the image over the limit.
	huge := []byte(`{"x":"` + strings.Repeat("a", MaxImageSize-20) + `"}`)
	if _, err := BakePNG(testPNG(t), huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("BakePNG: err = %v, want ErrTooLarge", err)
	}
}

func TestUnbakeUnknownFormat(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("GIF89a"), []byte("{}"), {0xFF, 0xD8, 0xFF}} {
		if _, _, err := Unbake(b); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Unbake(%q): err = %v, want ErrUnknownFormat", b, err)
		}
	}
	if _, _, err := Unbake([]byte(`<html><body/></html>`)); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Unbake(html): err = %v, want ErrUnknownFormat", err)
	}
}

func TestPayloadKind(t *testing.T) {
	jws := exampleJWS(t)
	good := map[string]payloadKind{
		sampleJSON:         kindJSON,
		"{}\n":             kindJSON,
		string(jws):        kindJWS,
		"eyJh.eyJi.c2ln-_": kindJWS,
	}
	for p, want := range good {
		if got, err := classifyPayload([]byte(p)); err != nil || got != want {
			t.Errorf("classifyPayload(%.30q) = %v, %v; want %v", p, got, err, want)
		}
	}
	bad := []string{
		"", "hello", "a.b", "a.b.c.d", "eyJh..c2ln", "eyJh.eyJi.c2ln=", "eyJh.eyJi.c2l n",
		string(jws) + "\n", `{"a":`, "{\"a\":\"\xff\"}", " {}", "[1]",
		`{"@context":{},"x":1}{}`, "eyJhb.eyJi.c2ln", // 5 characters cannot be base64
	}
	for _, p := range bad {
		if _, err := classifyPayload([]byte(p)); err == nil {
			t.Errorf("classifyPayload(%q) accepted", p)
		}
		if _, err := BakePNG(testPNG(t), []byte(p)); err == nil {
			t.Errorf("BakePNG(%q) accepted", p)
		}
		if _, err := BakeSVG([]byte("<svg/>"), []byte(p)); err == nil {
			t.Errorf("BakeSVG(%q) accepted", p)
		}
	}
}

func TestBakeSVGRoundTrip(t *testing.T) {
	svgs := map[string]string{
		"plain":        `<svg xmlns="http://www.w3.org/2000/svg" width="10"><rect width="10" height="10"/></svg>`,
		"self-closing": `<svg xmlns="http://www.w3.org/2000/svg"/>`,
		"no ns":        `<svg><g/></svg>`,
		"declared":     `<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><g/></svg>`,
		"prolog": "\uFEFF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
			`<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">` +
			"\n<!-- <svg> in a comment -->\n<svg\n  xmlns=\"http://www.w3.org/2000/svg\"\n  viewBox='0 0 1 1' >\n<title>a &amp; b</title></svg>\n",
		"example": string(readExample(t, "simple-jwt.svg")),
	}
	payloads := map[string][]byte{"json": []byte(sampleJSON), "jws": exampleJWS(t)}
	for sname, svg := range svgs {
		for pname, payload := range payloads {
			t.Run(sname+"/"+pname, func(t *testing.T) {
				baked, err := RebakeSVG([]byte(svg), payload)
				if err != nil {
					t.Fatalf("RebakeSVG: %v", err)
				}
				if sname != "example" {
					if b2, err := BakeSVG([]byte(svg), payload); err != nil || !bytes.Equal(b2, baked) {
						t.Fatalf("BakeSVG differs from RebakeSVG on an unbaked image: %v", err)
					}
				}
				got, format, err := Unbake(baked)
				if err != nil || format != FormatSVG {
					t.Fatalf("Unbake: %q, %v\n%s", format, err, baked)
				}
				if !bytes.Equal(got, payload) {
					t.Errorf("round trip: got %q, want %q", got, payload)
				}
				checkSVGLayout(t, baked, pname == "jws", payload)
			})
		}
	}
}

// checkSVGLayout checks, independently of scanSVG, that the baked SVG is
// well-formed and that the credential element is the first thing inside
// the root element, declared with the openbadges prefix.
func checkSVGLayout(t *testing.T, baked []byte, jws bool, payload []byte) {
	t.Helper()
	var n struct {
		XMLName xml.Name
		Attrs   []xml.Attr `xml:",any,attr"`
		Inner   []byte     `xml:",innerxml"`
	}
	if err := xml.Unmarshal(bytes.TrimPrefix(baked, utf8BOM), &n); err != nil {
		t.Fatalf("baked SVG is not well-formed: %v\n%s", err, baked)
	}
	declared := false
	for _, a := range n.Attrs {
		if a.Name.Space == "xmlns" && a.Name.Local == "openbadges" && a.Value == obNamespace {
			declared = true
		}
	}
	if !declared {
		t.Errorf("root does not declare xmlns:openbadges: %v", n.Attrs)
	}
	want := `<openbadges:credential verify="` + string(payload) + `"/>`
	if !jws {
		want = `<openbadges:credential><![CDATA[` + strings.ReplaceAll(string(payload), "]]>", "]]]]><![CDATA[>") + `]]></openbadges:credential>`
	}
	if !bytes.HasPrefix(n.Inner, []byte(want)) {
		t.Errorf("root content starts with %.80q, want %.80q", n.Inner, want)
	}
}

func TestUnbakeSVG(t *testing.T) {
	const ns = `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`
	tests := []struct {
		name, svg string
		want      string // payload, or "" when an error is expected
		err       error  // sentinel expected, if any
		errText   string
	}{
		{"other prefix", `<svg xmlns:ob="https://purl.imsglobal.org/ob/v3p0"><ob:credential verify="a.b.c"/></svg>`, "a.b.c", nil, ""},
		{"default ns", `<svg><credential xmlns="https://purl.imsglobal.org/ob/v3p0"> a.b.c </credential></svg>`, "a.b.c", nil, ""},
		{"split CDATA", `<svg ` + ns + `><openbadges:credential><![CDATA[{"a":"]]]]><![CDATA[>"}]]></openbadges:credential></svg>`, `{"a":"]]>"}`, nil, ""},
		{"escaped text", `<svg ` + ns + `><openbadges:credential>{"a":"&lt;&amp;"}</openbadges:credential></svg>`, `{"a":"<&"}`, nil, ""},
		{"nested deeper", `<svg ` + ns + `><g><g><openbadges:credential verify="x.y.z"/></g></g></svg>`, "x.y.z", nil, ""},
		{"wrong namespace", `<svg xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="x"/><openbadges:credential verify="x"/></svg>`, "", ErrNotBaked, ""},
		{"undeclared prefix", `<svg><openbadges:credential verify="a.b.c"/></svg>`, "", ErrNotBaked, ""},
		{"in a comment", `<svg ` + ns + `><!-- <openbadges:credential verify="a.b.c"/> --></svg>`, "", ErrNotBaked, ""},
		{"two", `<svg ` + ns + `><openbadges:credential verify="a.b.c"/><openbadges:credential verify="d.e.f"/></svg>`, "", ErrMultipleCredentials, ""},
		{"two prefixes", `<svg ` + ns + ` xmlns:x="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential verify="a.b.c"/><g><x:credential>{}</x:credential></g></svg>`, "", ErrMultipleCredentials, ""},
		{"nested", `<svg ` + ns + `><openbadges:credential><openbadges:credential verify="a.b.c"/></openbadges:credential></svg>`, "", ErrMultipleCredentials, ""},
		{"empty", `<svg ` + ns + `><openbadges:credential/></svg>`, "", ErrMalformed, "empty"},
		{"both", `<svg ` + ns + `><openbadges:credential verify="a.b.c">{}</openbadges:credential></svg>`, "", ErrMalformed, "both"},
		{"not svg", `<html ` + ns + `><openbadges:credential verify="a.b.c"/></html>`, "", ErrUnknownFormat, "<html>"},
		{"unclosed", `<svg ` + ns + `><openbadges:credential verify="a.b.c"/>`, "", ErrMalformed, "EOF"},
		{"two roots", `<svg ` + ns + `/><svg/>`, "", ErrMalformed, "root"},
		{"no root", `<?xml version="1.0"?>`, "", ErrMalformed, "no root"},
		{"latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><svg/>`, "", ErrMalformed, "encoding"},
		{"deep", `<svg>` + strings.Repeat("<g>", 2000) + strings.Repeat("</g>", 2000) + `</svg>`, "", ErrMalformed, "nested"},
		// A DTD's entities are not expanded: using one is an error, and
		// nothing is fetched.
		{"internal entity", `<!DOCTYPE svg [<!ENTITY jws "a.b.c">]><svg ` + ns + `><openbadges:credential>&jws;</openbadges:credential></svg>`, "", ErrMalformed, "entity"},
		{"external entity", `<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg ` + ns + `><openbadges:credential>&x;</openbadges:credential></svg>`, "", ErrMalformed, "entity"},
		{"billion laughs", `<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><svg ` + ns + `><openbadges:credential>&c;</openbadges:credential></svg>`, "", ErrMalformed, "entity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnbakeSVG([]byte(tt.svg))
			if tt.want != "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("UnbakeSVG = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("UnbakeSVG = %q, want an error", got)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("err = %v, want it to mention %q", err, tt.errText)
			}
		})
	}
}

func TestBakeSVGPrefixConflict(t *testing.T) {
	svg := []byte(`<svg xmlns:openbadges="http://openbadges.org"/>`)
	if _, err := BakeSVG(svg, exampleJWS(t)); err == nil || !strings.Contains(err.Error(), "binds prefix") {
		t.Errorf("err = %v", err)
	}
}

func TestBakeSVGNonXMLCharacter(t *testing.T) {
	if _, err := BakeSVG([]byte("<svg/>"), []byte("{\"a\":\"\uFFFF\"}")); err == nil {
		t.Error("accepted U+FFFF")
	}
	// The escaped form is fine.
	p := []byte(`{"a":"\uFFFF"}`)
	b, err := BakeSVG([]byte("<svg/>"), p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnbakeSVG(b); err != nil || !bytes.Equal(got, p) {
		t.Errorf("got %q, %v", got, err)
	}
}

// The unbaked payload must not alias the image: a caller that edits the
// image buffer afterwards must not change the credential it holds.
func TestUnbakeCopies(t *testing.T) {
	img, err := BakePNG(testPNG(t), exampleJWS(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := UnbakePNG(img)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(p)
	for i := range img {
		img[i] = 0
	}
	if !reflect.DeepEqual(p, want) {
		t.Error("payload aliases the image")
	}
}

// Found by FuzzUnbakeSVG: declaring xmlns:openbadges on the root must not
// give meaning to names that used the prefix without declaring it.
func TestBakeSVGUndeclaredPrefix(t *testing.T) {
	for _, svg := range []string{
		`<svg><openbadges:credential></openbadges:credential></svg>`,
		`<svg><g openbadges:x="1"/></svg>`,
	} {
		if _, err := BakeSVG([]byte(svg), exampleJWS(t)); err == nil || !strings.Contains(err.Error(), "without declaring") {
			t.Errorf("BakeSVG(%s): err = %v", svg, err)
		}
	}
}
