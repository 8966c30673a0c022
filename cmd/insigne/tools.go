package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/bake"
	"github.com/insigne/insigne/badges/dataintegrity"
	"github.com/insigne/insigne/badges/vcjwt"
	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/keys"
)

const maxKeyFile = 64 << 10

// cmdKeys: insigne keys generate --alg Ed25519|P-256 --out FILE
func cmdKeys(args []string, e env) error {
	if len(args) == 0 || args[0] != "generate" {
		return usageError{"expected 'insigne keys generate --alg Ed25519|P-256 --out FILE'"}
	}
	fs := newFlags("keys generate", e)
	alg := fs.String("alg", "Ed25519", "key type: Ed25519 (Data Integrity) or P-256 (VC-JWT ES256)")
	out := fs.String("out", "", "file to write the private JWK to (mode 0600)")
	kid := fs.String("kid", "", "key id to put in the JWK")
	force := fs.Bool("force", false, "overwrite an existing file")
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *out == "" || len(rest) > 0 {
		return usageError{"--out FILE is required and no arguments are taken"}
	}
	a := keys.Alg(*alg)
	if a != keys.Ed25519 && a != keys.P256 {
		return usageError{fmt.Sprintf("--alg must be Ed25519 or P-256, not %q", *alg)}
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return fmt.Errorf("%s exists; use --force to overwrite it", *out)
	}
	k, err := keys.Generate(a)
	if err != nil {
		return err
	}
	priv, err := k.MarshalPrivateJWK(*kid)
	if err != nil {
		return err
	}
	if err := keys.WriteFile(*out, append(priv, '\n')); err != nil {
		return err
	}
	// Print only public facts: the private key stays in the file.
	fmt.Fprintf(e.stdout, "wrote %s key to %s\npublicKeyMultibase: %s\ndid:key: %s\n", a, *out, k.PublicKeyMultibase(), k.DIDKey())
	return nil
}

func newCanonicalizer() (*jsonld.Canonicalizer, error) {
	l, err := jsonld.NewLoader()
	if err != nil {
		return nil, err
	}
	return jsonld.NewCanonicalizer(l, jsonld.DefaultLimits), nil
}

// cmdSign: insigne sign --key FILE --vm ID [--created RFC3339] [--format di|jwt] CREDENTIAL.json
func cmdSign(args []string, e env) error {
	fs := newFlags("sign", e)
	keyFile := fs.String("key", "", "private key: a JWK with d, or a Multikey key pair")
	vm := fs.String("vm", "", "verification method (di) or key id (jwt); for jwt, empty embeds the public JWK")
	created := fs.String("created", "", "proof creation time, RFC 3339 (default now)")
	format := fs.String("format", "di", "di (Data Integrity eddsa-rdfc-2022) or jwt (VC-JWT)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *keyFile == "" || len(rest) != 1 {
		return usageError{"usage: insigne sign --key FILE --vm ID [--created RFC3339] [--format di|jwt] CREDENTIAL.json"}
	}
	kb, err := readInput(*keyFile, e, maxKeyFile)
	if err != nil {
		return fmt.Errorf("reading the key: %w", err)
	}
	k, err := keys.ParseKeyFile(kb)
	if err != nil {
		return fmt.Errorf("%s: %w", *keyFile, err)
	}
	if k.Private == nil {
		return fmt.Errorf("%s holds a public key only; signing needs the private key", *keyFile)
	}
	raw, err := readInput(rest[0], e, badges.MaxCredentialSize)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s is not a JSON object: %w", rest[0], err)
	}
	switch *format {
	case "di":
		if *vm == "" {
			return usageError{"--vm is required for a Data Integrity proof"}
		}
		priv, ok := k.Private.(ed25519.PrivateKey)
		if !ok {
			return errors.New("eddsa-rdfc-2022 needs an Ed25519 key")
		}
		var at time.Time
		if *created != "" {
			if at, err = time.Parse(time.RFC3339, *created); err != nil {
				return usageError{fmt.Sprintf("--created %q is not an RFC 3339 time", *created)}
			}
		}
		c, err := newCanonicalizer()
		if err != nil {
			return err
		}
		signed, err := dataintegrity.Sign(c, doc, priv, dataintegrity.Options{VerificationMethod: *vm, Created: at})
		if err != nil {
			return err
		}
		out, err := json.MarshalIndent(signed, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", out)
		return err
	case "jwt":
		if *created != "" {
			return usageError{"--created applies to Data Integrity proofs only"}
		}
		opts := vcjwt.SignOptions{Alg: k.SignatureAlgorithm(), KeyID: *vm, EmbedJWK: *vm == ""}
		token, err := vcjwt.Sign(raw, k.Private, opts)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, token)
		return err
	}
	return usageError{fmt.Sprintf("--format must be di or jwt, not %q", *format)}
}

// cmdBake: insigne bake --image IMAGE [--out FILE] CREDENTIAL
func cmdBake(args []string, e env) error {
	fs := newFlags("bake", e)
	image := fs.String("image", "", "PNG or SVG image to bake into")
	out := fs.String("out", "", "output file (default standard output)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *image == "" || len(rest) != 1 {
		return usageError{"usage: insigne bake --image IMAGE.png|svg [--out FILE] CREDENTIAL.json|.jws"}
	}
	img, err := readInput(*image, e, bake.MaxImageSize)
	if err != nil {
		return err
	}
	payload, err := readInput(rest[0], e, badges.MaxCredentialSize)
	if err != nil {
		return err
	}
	payload = bytes.TrimSpace(payload)
	var baked []byte
	switch {
	case bytes.HasPrefix(img, []byte("\x89PNG")):
		baked, err = bake.BakePNG(img, payload)
	case strings.HasSuffix(strings.ToLower(*image), ".svg") || bytes.Contains(img[:min(len(img), 1024)], []byte("<svg")):
		baked, err = bake.BakeSVG(img, payload)
	default:
		return fmt.Errorf("%s is neither a PNG nor an SVG image", *image)
	}
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = e.stdout.Write(baked)
		return err
	}
	return os.WriteFile(*out, baked, 0o644)
}

// cmdUnbake: insigne unbake IMAGE
func cmdUnbake(args []string, e env) error {
	fs := newFlags("unbake", e)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"usage: insigne unbake IMAGE.png|svg"}
	}
	img, err := readInput(rest[0], e, bake.MaxImageSize)
	if err != nil {
		return err
	}
	payload, _, err := bake.Unbake(img)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", bytes.TrimSpace(payload))
	return err
}
