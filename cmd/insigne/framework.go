package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/store"
)

// cmdFramework: insigne framework import FILE | export --format case|moodle-csv ID.
// Both work on the database serve uses (--data / INSIGNE_DATABASE_URL), so
// an import is served as CASE at once.
func cmdFramework(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export" && args[0] != "list") {
		return usageError{"expected 'insigne framework import FILE', 'insigne framework export --format case|moodle-csv ID' or 'insigne framework list'"}
	}
	sub := args[0]
	fs := newFlags("framework "+sub, e)
	dataDir := fs.String("data", orEnv(e, "INSIGNE_DATA_DIR", "insigne-data"), "data directory (INSIGNE_DATA_DIR), when INSIGNE_DATABASE_URL is not set")
	var format *string
	var version *int
	switch sub {
	case "import":
		format = fs.String("format", "", "case or moodle-csv (default: guessed from the file: a JSON object is CASE)")
	case "export":
		format = fs.String("format", competency.FormatCASE, "case or moodle-csv")
		version = fs.Int("version", 0, "version to export (default: the latest)")
	}
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "list" && len(rest) != 0:
		return usageError{"framework list takes no arguments"}
	case sub != "list" && len(rest) != 1:
		return usageError{fmt.Sprintf("framework %s takes one argument", sub)}
	}
	if format != nil && *format != "" && *format != competency.FormatCASE && *format != competency.FormatMoodleCSV {
		return usageError{fmt.Sprintf("--format must be case or moodle-csv, not %q", *format)}
	}
	// Read the file before opening the database: a bad path fails fast.
	var data []byte
	if sub == "import" {
		if data, err = readInput(rest[0], e, competency.MaxImportBytes+1); err != nil {
			return err
		}
		if len(data) > competency.MaxImportBytes {
			return fmt.Errorf("%s: larger than %d bytes", rest[0], competency.MaxImportBytes)
		}
	}
	dsn := e.getenv("INSIGNE_DATABASE_URL")
	if dsn == "" {
		// As serve does: an import may come before the first start.
		if err := os.MkdirAll(*dataDir, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		dsn = filepath.Join(*dataDir, "insigne.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	base := strings.TrimRight(orEnv(e, "INSIGNE_BASE_URL", "http://localhost:8080"), "/")
	comp := competency.NewService(db, base, nil, nil)

	switch sub {
	case "list":
		list, err := comp.Frameworks(ctx)
		if err != nil {
			return err
		}
		for _, r := range list {
			fmt.Fprintf(e.stdout, "%s\tv%d\t%d items\t%s\n", r.ID, r.Version, r.Items, r.Title)
		}
		return nil
	case "import":
		f := *format
		if f == "" {
			f = competency.SniffFormat(data)
		}
		rec, created, err := comp.Import(ctx, "cli", f, data)
		var in *competency.InputError
		if errors.As(err, &in) {
			return fmt.Errorf("%s: %w", rest[0], err)
		}
		if err != nil {
			return err
		}
		what := "unchanged, already"
		if created {
			what = "imported as"
		}
		fmt.Fprintf(e.stdout, "%s: %s version %d of %s (%s, %d items)\n", rest[0], what, rec.Version, rec.ID, rec.Title, rec.Items)
		return nil
	default:
		b, err := comp.Export(ctx, rest[0], *version, *format)
		if errors.Is(err, competency.ErrNotFound) {
			return fmt.Errorf("no framework %s (see 'insigne framework list')", rest[0])
		}
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(b)
		return err
	}
}
