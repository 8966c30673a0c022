package backpack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"testing"
	"time"

	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges/bake"
)

// Well-formed input that is no credential at all (JSON, a JWS of it, or
// baked in an image) is refused with ErrNotCredential and nothing is
// stored; a credential that names itself one but fails is still kept.
func TestImportRefusesNonCredentials(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	b64 := base64.RawURLEncoding.EncodeToString
	jws := b64([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + b64([]byte(`{"x":1,"iss":"https://a.example"}`)) + "." + b64([]byte("signature"))
	png, err := bake.BakePNG(onePixelPNG(t), []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"object":        []byte(`{"x":1}`),
		"other type":    []byte(`{"type":["Thing"],"name":"n"}`),
		"other context": []byte(`{"@context":"https://schema.org/","type":"Person"}`),
		"JWS":           []byte(jws),
		"baked PNG":     png,
	} {
		_, err := e.svc.Import(ctx, "u1", in)
		var ie *backpack.InputError
		if !errors.Is(err, backpack.ErrNotCredential) || !errors.As(err, &ie) {
			t.Errorf("%s: %v, want a not-a-credential input error", name, err)
		}
		if _, _, err := e.svc.Upsert(ctx, "u1", in); !errors.Is(err, backpack.ErrNotCredential) && name != "baked PNG" {
			t.Errorf("%s upserted: %v", name, err)
		}
	}
	for _, name := range []string{"simple-err-type.json", "simple-err-context.json"} {
		if _, err := e.svc.Import(ctx, "u1", readExample(t, name)); err != nil {
			t.Errorf("%s: %v, want it kept as invalid", name, err)
		}
	}
	if _, total, _ := e.svc.List(ctx, "u1", backpack.Query{}); total != 2 {
		t.Fatalf("u1 holds %d, want the 2 invalid credentials", total)
	}
}

// A learner's imports stop at MaxImported (Import and Upsert alike), and
// another learner's are not counted.
func TestImportQuota(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	svc := backpack.New(backpack.Config{Store: e.db, Verifier: offlineVerifier(t), BaseURL: "https://insigne.example",
		Now: func() time.Time { return e.now }, MaxImported: 2})
	in := readExample(t, "simple.json")
	if _, err := svc.Import(ctx, "u1", in); err != nil {
		t.Fatal(err)
	}
	if _, created, err := svc.Upsert(ctx, "u1", readExample(t, "endorsement-valid.json")); err != nil || !created {
		t.Fatalf("upsert: %v %v", created, err)
	}
	if _, err := svc.Import(ctx, "u1", in); !errors.Is(err, backpack.ErrTooMany) {
		t.Fatalf("import over the quota: %v", err)
	}
	if _, _, err := svc.Upsert(ctx, "u1", readExample(t, "simple-eddsa-2022.json")); !errors.Is(err, backpack.ErrTooMany) {
		t.Fatalf("upsert over the quota: %v", err)
	}
	// Replacing a held credential adds nothing and is allowed.
	if _, created, err := svc.Upsert(ctx, "u1", readExample(t, "endorsement-valid.json")); err != nil || created {
		t.Fatalf("replace at the quota: %v %v", created, err)
	}
	if _, err := svc.Import(ctx, "u2", in); err != nil {
		t.Fatalf("u2 counted with u1: %v", err)
	}
	if _, total, _ := svc.List(ctx, "u1", backpack.Query{}); total != 2 {
		t.Fatalf("u1 holds %d, want 2", total)
	}
}

func onePixelPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
