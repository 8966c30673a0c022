package issuing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"

	"github.com/insigne/insigne/badges/bake"
	"github.com/insigne/insigne/badges/vcjwt"
)

// JWT returns a credential as a VC-JWT (ES256) signed now with the
// issuer's active P-256 key: the same credential, without its embedded
// proof, as the payload.
func (s *Service) JWT(ctx context.Context, id string) (string, error) {
	c, err := s.Credential(ctx, id)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := json.Unmarshal(c.Signed, &doc); err != nil {
		return "", err
	}
	delete(doc, "proof")
	payload, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	k, kp, err := s.activeKey(ctx, c.Issuer, PurposeJWT)
	if err != nil {
		return "", err
	}
	return vcjwt.Sign(payload, kp.Private, vcjwt.SignOptions{KeyID: s.KeyURL(c.Issuer, k.ID)})
}

// Baked returns the credential baked into its badge image: "png" or "svg".
// The image is the achievement's own when it was uploaded here in that
// format, and otherwise one drawn from its name.
func (s *Service) Baked(ctx context.Context, id, format string) ([]byte, error) {
	c, err := s.Credential(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := s.store.AchievementVersion(ctx, c.AchievementID, c.AchievementVersion)
	if err != nil {
		return nil, err
	}
	spec, err := a.Spec()
	if err != nil {
		return nil, err
	}
	img := s.uploadedImage(ctx, spec, format)
	switch format {
	case "png":
		if img == nil {
			img = defaultPNG()
		}
		return bake.BakePNG(img, c.Signed)
	case "svg":
		if img == nil {
			img = defaultSVG(spec.Name)
		}
		return bake.BakeSVG(img, c.Signed)
	}
	return nil, fmt.Errorf("image format %q: %w", format, ErrNotFound)
}

func (s *Service) uploadedImage(ctx context.Context, spec AchievementSpec, format string) []byte {
	if spec.Image == nil || !strings.HasPrefix(spec.Image.ID, s.base+"/evidence/") || s.blobs == nil {
		return nil
	}
	sha := strings.TrimPrefix(spec.Image.ID, s.base+"/evidence/")
	b, err := s.store.Blob(ctx, sha)
	if err != nil || b.MediaType != map[string]string{"png": "image/png", "svg": "image/svg+xml"}[format] {
		return nil
	}
	r, err := s.blobs.Open(ctx, sha)
	if err != nil {
		return nil
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, bake.MaxImageSize))
	if err != nil {
		return nil
	}
	return data
}

// defaultSVG draws a rosette in the blue and red of the French state's
// design system, with the achievement's name.
func defaultSVG(name string) []byte {
	title := html.EscapeString(name)
	short := []rune(name)
	if len(short) > 24 {
		short = append(short[:23], '…')
	}
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256" role="img" aria-label="` + title + `">` +
		`<title>` + title + `</title>` +
		`<circle cx="128" cy="128" r="120" fill="#000091"/><circle cx="128" cy="128" r="96" fill="#ffffff"/>` +
		`<circle cx="128" cy="128" r="84" fill="#e1000f"/>` +
		`<text x="128" y="136" font-family="Marianne, Arial, sans-serif" font-size="14" fill="#ffffff" text-anchor="middle">` + html.EscapeString(string(short)) + `</text></svg>`)
}

func defaultPNG() []byte {
	const size = 256
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue := color.NRGBA{0x00, 0x00, 0x91, 0xff}
	red := color.NRGBA{0xe1, 0x00, 0x0f, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := x-size/2, y-size/2
			d := dx*dx + dy*dy
			switch {
			case d <= 84*84:
				img.Set(x, y, red)
			case d <= 96*96:
				img.Set(x, y, white)
			case d <= 120*120:
				img.Set(x, y, blue)
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
