package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/fetch"
)

// fetcher adapts fetch.Client to badges.DocumentFetcher.
type fetcher struct{ c *fetch.Client }

func (f fetcher) FetchDocument(ctx context.Context, url, accept string) ([]byte, error) {
	r, err := f.c.Get(ctx, url, accept)
	if err != nil {
		return nil, err
	}
	return r.Body, nil
}

// cmdVerify: insigne verify [--json] [--at RFC3339] [--offline] INPUT
func cmdVerify(ctx context.Context, args []string, e env) (int, error) {
	fs := newFlags("verify", e)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	at := fs.String("at", "", "judge validity at this time (RFC 3339; default now)")
	offline := fs.Bool("offline", false, "never use the network (keys and status lists that need it are reported as not checked)")
	allowPrivate := fs.Bool("allow-private", false, "allow fetching from private and loopback addresses")
	rest, err := parse(fs, args)
	if err != nil {
		return exitUnusable, err
	}
	if len(rest) != 1 {
		return exitUnusable, usageError{"usage: insigne verify [--json] [--at RFC3339] [--offline] FILE|-|URL"}
	}
	var opts badges.Options
	if *at != "" {
		if opts.At, err = time.Parse(time.RFC3339, *at); err != nil {
			return exitUnusable, usageError{fmt.Sprintf("--at %q is not an RFC 3339 time", *at)}
		}
	}
	// Attestation PDFs carry their credential attached: it is checked
	// like any other, without the network when --offline is given.
	cfg := badges.VerifierConfig{Extractors: []badges.Extractor{attest.Extractor{}}}
	var client *fetch.Client
	if !*offline {
		client = fetch.New(fetch.Options{AllowPrivate: *allowPrivate, Timeout: 10 * time.Second})
		cfg.Docs = fetcher{client}
	}
	if cfg.Canon, err = newCanonicalizer(); err != nil {
		return exitUnusable, err
	}
	if cfg.Schemas, err = badges.NewSchemas(); err != nil {
		return exitUnusable, err
	}

	var input []byte
	if isURL(rest[0]) {
		if client == nil {
			return exitUnusable, errors.New("a URL needs the network; --offline was given")
		}
		r, err := client.Get(ctx, rest[0], "application/vc+ld+json, application/vc+jwt, application/json, image/png, image/svg+xml, */*;q=0.1")
		if err != nil {
			return exitUnusable, err
		}
		input = r.Body
	} else if input, err = readInput(rest[0], e, badges.MaxInputSize); err != nil {
		return exitUnusable, err
	}

	v := badges.NewVerifier(cfg)
	var report *badges.Report
	var verr error
	if creds, err := attest.ExtractCredentials(input); err == nil && len(creds) > 1 {
		report, verr = verifyMerged(ctx, v, creds, opts)
	} else {
		report, verr = v.Verify(ctx, input, opts)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return exitUnusable, err
		}
	} else {
		printReport(e, report, "")
	}
	if verr != nil {
		if *asJSON {
			return exitUnusable, nil
		}
		return exitUnusable, verr
	}
	if report.Verdict == badges.Invalid {
		return exitInvalid, nil
	}
	return exitOK, nil
}

// verifyMerged checks every credential of a PDF that holds several (a
// merged PDF of a batch's attestations): one nested report each, in page
// order, and the file not valid if any of them is not.
func verifyMerged(ctx context.Context, v *badges.Verifier, creds [][]byte, opts badges.Options) (*badges.Report, error) {
	r := &badges.Report{Verdict: badges.Valid, Format: "pdf",
		Checks: []badges.Check{{Name: "container", OK: true, Message: fmt.Sprintf("%d credentials attached to the PDF (a merged PDF of attestations)", len(creds))}}}
	for _, c := range creds {
		n, err := v.Verify(ctx, c, opts)
		if err != nil {
			return r, err
		}
		r.Nested = append(r.Nested, n)
		switch {
		case n.Verdict == badges.Invalid:
			r.Verdict = badges.Invalid
		case n.Verdict == badges.Warnings && r.Verdict == badges.Valid:
			r.Verdict = badges.Warnings
		}
	}
	return r, nil
}

func printReport(e env, r *badges.Report, indent string) {
	verdict := map[badges.Verdict]string{
		badges.Valid:    "VALID",
		badges.Warnings: "VALID, with warnings",
		badges.Invalid:  "NOT VALID",
	}[r.Verdict]
	if r.Status != "" {
		verdict += " (" + r.Status + ")"
	}
	fmt.Fprintf(e.stdout, "%s%s\n", indent, verdict)
	if s := r.Summary; s != nil {
		if s.Name != "" || s.Achievement != "" {
			fmt.Fprintf(e.stdout, "%s  %s — %s\n", indent, s.Name, s.Achievement)
		}
		if s.IssuerID != "" {
			fmt.Fprintf(e.stdout, "%s  issued by %s <%s>\n", indent, s.IssuerName, s.IssuerID)
		}
	}
	for _, c := range r.Checks {
		mark := "ok  "
		switch {
		case !c.OK && c.Warning:
			mark = "warn"
		case !c.OK:
			mark = "FAIL"
		}
		fmt.Fprintf(e.stdout, "%s  [%s] %-13s %s\n", indent, mark, c.Name, c.Message)
	}
	for _, n := range r.Nested {
		printReport(e, n, indent+"    ")
	}
}
