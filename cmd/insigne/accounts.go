package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/lifecycle"
	"github.com/insigne/insigne/store"
)

// newSweeper builds the account lifecycle from INSIGNE_ACCOUNT_SUSPEND_AFTER
// (default 1095d), INSIGNE_ACCOUNT_DELETE_AFTER (365d),
// INSIGNE_ACCOUNT_NOTICE (30d) and INSIGNE_ACCOUNT_SWEEP (how often serve
// sweeps, 24h; 0 never), with the notices sent through INSIGNE_SMTP_* or
// written to the log.
func newSweeper(e env, st lifecycle.Store, blobs lifecycle.Blobs, base string, log *slog.Logger, forget func(userID string)) (*lifecycle.Sweeper, time.Duration, error) {
	c := lifecycle.Config{Store: st, Blobs: blobs, BaseURL: base, Log: log, Forget: forget}
	every := 24 * time.Hour
	for _, v := range []struct {
		name string
		to   *time.Duration
	}{{"INSIGNE_ACCOUNT_SUSPEND_AFTER", &c.SuspendAfter}, {"INSIGNE_ACCOUNT_DELETE_AFTER", &c.DeleteAfter},
		{"INSIGNE_ACCOUNT_NOTICE", &c.Notice}, {"INSIGNE_ACCOUNT_SWEEP", &every}} {
		s := e.getenv(v.name)
		if s == "" {
			continue
		}
		d, err := parseDays(s)
		if err != nil || d < 0 || (d == 0 && v.name != "INSIGNE_ACCOUNT_SWEEP") {
			return nil, 0, usageError{v.name + " must be a duration like 1095d or 720h"}
		}
		*v.to = d
	}
	if addr := e.getenv("INSIGNE_SMTP_ADDR"); addr != "" {
		c.Mailer = &backpack.SMTP{Addr: addr, From: orEnv(e, "INSIGNE_SMTP_FROM", "insigne@localhost"),
			Username: e.getenv("INSIGNE_SMTP_USERNAME"), Password: e.getenv("INSIGNE_SMTP_PASSWORD"),
			StartTLS: e.getenv("INSIGNE_SMTP_STARTTLS") == "1"}
	}
	return lifecycle.New(c), every, nil
}

// parseDays reads a Go duration, or a whole number of days ("1095d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil {
			return 0, err
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// cmdAccounts: insigne accounts sweep | reinstate EMAIL | delete EMAIL,
// on the database (and evidence directory) serve uses.
func cmdAccounts(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "sweep" && args[0] != "reinstate" && args[0] != "delete") {
		return usageError{"expected 'insigne accounts sweep', 'insigne accounts reinstate EMAIL' or 'insigne accounts delete EMAIL'"}
	}
	sub := args[0]
	fs := newFlags("accounts "+sub, e)
	dataDir := fs.String("data", orEnv(e, "INSIGNE_DATA_DIR", "insigne-data"), "data directory (INSIGNE_DATA_DIR), when INSIGNE_DATABASE_URL is not set")
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if (sub == "sweep") != (len(rest) == 0) || len(rest) > 1 {
		return usageError{"accounts sweep takes no argument, accounts reinstate and accounts delete one e-mail address"}
	}
	if sub == "delete" {
		if a, err := mail.ParseAddress(rest[0]); err != nil || a.Address != strings.TrimSpace(rest[0]) {
			return usageError{fmt.Sprintf("%q is not an e-mail address", rest[0])}
		}
	}
	dsn := e.getenv("INSIGNE_DATABASE_URL")
	if dsn == "" {
		dsn = filepath.Join(*dataDir, "insigne.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	sw, _, err := newSweeper(e, db, store.DiskBlobs{Dir: filepath.Join(*dataDir, "evidence")}, strings.TrimRight(orEnv(e, "INSIGNE_BASE_URL", "http://localhost:8080"), "/"), log, nil)
	if err != nil {
		return err
	}
	if sub == "delete" {
		d, err := sw.Delete(ctx, "cli", rest[0])
		if err != nil {
			return err
		}
		// The address is not echoed: the output may end up in a log.
		fmt.Fprintf(e.stdout, "person deleted: account %s, %d rows removed or blanked, %d evidence files removed\n",
			orDash(d.UserID), sum(d.Removed), len(d.Evidence))
		return nil
	}
	if sub == "reinstate" {
		if err := sw.Reinstate(ctx, "cli", rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "account %s reinstated\n", rest[0])
		return nil
	}
	r, err := sw.Sweep(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "suspension notices %d, suspended %d, deletion notices %d, deleted %d\n", r.SuspendNotices, r.Suspended, r.DeleteNotices, r.Deleted)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
