package bake

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzJWS is a small well-formed compact JWS used to rebake fuzzed images.
const fuzzJWS = "eyJhbGciOiJub25lIn0.eyJpZCI6InVybjp4In0.c2ln"

func FuzzUnbakePNG(f *testing.F) {
	small := testPNG(f)
	for _, name := range []string{"simple-json.png", "simple-jwt.png", "simple-jwt_v1.png"} {
		img := readExample(f, name)
		f.Add(img)
		// The same credential in a small image: mutating and minimizing
		// 80 KiB inputs is slow, so most fuzzing starts from these.
		if p, err := UnbakePNG(img); err == nil {
			if b, err := BakePNG(small, p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add(small)
	f.Add(pngWithChunks(small, compressedITXt(f, []byte(fuzzJWS))))
	if b, err := BakePNG(small, []byte(sampleJSON)); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, img []byte) {
		p, err := UnbakePNG(img)
		if err != nil {
			if p != nil {
				t.Fatal("payload returned with an error")
			}
			if !errors.Is(err, ErrNotBaked) {
				return
			}
		} else if len(p) == 0 {
			t.Fatal("empty payload without error")
		}
		// The image is a well-formed PNG: rebaking must work and round-trip.
		re, err := RebakePNG(img, []byte(fuzzJWS))
		if err != nil {
			t.Fatalf("RebakePNG on a readable image: %v", err)
		}
		got, err := UnbakePNG(re)
		if err != nil || string(got) != fuzzJWS {
			t.Fatalf("after RebakePNG: %q, %v", got, err)
		}
	})
}

func FuzzUnbakeSVG(f *testing.F) {
	for _, name := range []string{"simple-json.svg", "simple-jwt.svg", "simple-jwt_v1.svg"} {
		f.Add(readExample(f, name))
	}
	f.Add([]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))
	f.Add([]byte(`<svg xmlns:ob="https://purl.imsglobal.org/ob/v3p0"><ob:credential><![CDATA[{"a":"]]]]><![CDATA[>"}]]></ob:credential></svg>`))
	f.Add([]byte(`<!DOCTYPE svg [<!ENTITY a "x">]><svg><g>&a;</g></svg>`))
	f.Fuzz(func(t *testing.T, svg []byte) {
		p, err := UnbakeSVG(svg)
		if err != nil {
			if p != nil {
				t.Fatal("payload returned with an error")
			}
			if !errors.Is(err, ErrNotBaked) {
				return
			}
		} else if len(p) == 0 {
			t.Fatal("empty payload without error")
		}
		// The document parsed: (re)baking must give a document from which
		// exactly the new payload comes back, for both payload kinds.
		for _, payload := range []string{fuzzJWS, sampleJSON} {
			re, err := RebakeSVG(svg, []byte(payload))
			if err != nil {
				if bytes.Contains(svg, []byte("openbadges")) {
					return // e.g. the prefix is bound to another namespace
				}
				t.Fatalf("RebakeSVG on a readable image: %v", err)
			}
			got, err := UnbakeSVG(re)
			if err != nil || string(got) != payload {
				t.Fatalf("after RebakeSVG: %q, %v\ninput: %q\noutput: %q", got, err, svg, re)
			}
		}
	})
}
