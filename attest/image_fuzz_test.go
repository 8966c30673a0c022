package attest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func fuzzPNG(w, h uint32, depth, ct byte, raw []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, ct
	chunk("IHDR", ihdr)
	chunk("IDAT", deflate(raw))
	chunk("IEND", nil)
	return b.Bytes()
}

// FuzzSignatureImage: whatever checkImage accepts as a signature, the PDF
// renders without an error or a panic; whatever it refuses is an
// *InputError naming signatory.image.
func FuzzSignatureImage(f *testing.F) {
	var pngs, jpgs bytes.Buffer
	for _, im := range []image.Image{image.NewNRGBA(image.Rect(0, 0, 8, 4)), image.NewGray(image.Rect(0, 0, 3, 3)), image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.Transparent})} {
		pngs.Reset()
		png.Encode(&pngs, im)
		f.Add(bytes.Clone(pngs.Bytes()))
	}
	jpeg.Encode(&jpgs, image.NewRGBA(image.Rect(0, 0, 5, 5)), nil)
	f.Add(jpgs.Bytes())
	f.Add(fuzzPNG(100, 100, 8, 6, make([]byte, 10)))
	f.Add(fuzzPNG(2, 2, 8, 4, make([]byte, 2*5)))
	f.Add(fuzzPNG(2, 2, 16, 2, make([]byte, 2*13)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		err := checkImage(b)
		if err != nil {
			var in *InputError
			if !errors.As(err, &in) || in.Field != "signatory.image" {
				t.Fatalf("refusal %v is not an input error on signatory.image", err)
			}
			return
		}
		fl := sampleFields()
		fl.Training.Signatory.Image = b
		if _, err := render(rendering{Fields: fl, Code: "ABCD2345XY", VerifyURL: "https://x.example/v/ABCD2345XY", Credential: []byte(`{}`)}, &deflaters{}); err != nil {
			t.Fatalf("an accepted image does not render: %v", err)
		}
	})
}
