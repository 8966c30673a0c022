// Command insigne runs the Insigne service and its offline tools: key
// generation, signing, verification and badge baking.
//
// Exit codes: 0 success (for verify: valid, possibly with warnings), 1 a
// credential that is not valid, 2 unusable input or a usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: insigne <command> [flags] [arguments]

Commands:
  serve                      run the service (embedded database in ./insigne-data by default)
  keys generate              write a new private key as a JWK
  sign                       sign a credential (Data Integrity eddsa-rdfc-2022, or VC-JWT)
  verify                     verify a credential: JSON, compact JWS, baked PNG/SVG
  bake                       put a credential into a PNG or SVG image
  unbake                     take the credential out of a PNG or SVG image
  framework import FILE      store a framework (CASE 1.0 JSON or Moodle competency CSV)
  framework export ID        write a stored framework (--format case|moodle-csv)
  framework list             list the stored frameworks
  backup --out FILE          archive the data directory (database snapshot, key file, evidence) while serving
  restore FILE               restore an archive into an empty data directory (--force to replace)
  accounts sweep             suspend and delete long-inactive accounts now (notices first)
  accounts reinstate EMAIL   lift an account's suspension
  accounts delete EMAIL      delete a person and their personal data on request (audited)

Run 'insigne <command> -h' for a command's flags.
`

// exit codes
const (
	exitOK       = 0
	exitInvalid  = 1
	exitUnusable = 2
)

// env is what a command may touch: no global state, so tests run commands
// in-process with their own streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is an error in the command line itself.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUnusable
	}
	var err error
	code := exitOK
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], e)
	case "keys":
		err = cmdKeys(args[1:], e)
	case "sign":
		err = cmdSign(args[1:], e)
	case "verify":
		code, err = cmdVerify(ctx, args[1:], e)
	case "bake":
		err = cmdBake(args[1:], e)
	case "unbake":
		err = cmdUnbake(args[1:], e)
	case "framework":
		err = cmdFramework(ctx, args[1:], e)
	case "backup":
		err = cmdBackup(ctx, args[1:], e)
	case "restore":
		err = cmdRestore(ctx, args[1:], e)
	case "accounts":
		err = cmdAccounts(ctx, args[1:], e)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	if err != nil {
		if errors.Is(err, errHelp) {
			return exitOK
		}
		fmt.Fprintf(e.stderr, "insigne %s: %v\n", args[0], err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(e.stderr, "Run 'insigne -h' for usage.")
		}
		if code == exitOK {
			code = exitUnusable
		}
	}
	return code
}
