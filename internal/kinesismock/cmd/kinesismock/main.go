// Command kinesismock runs the Kinesis emulator (kinesis-mock) for programs
// that are not Go tests, such as the Python test suite and `make demo`.
//
// Usage:
//
//	kinesismock [--stream NAME:SHARDS]... [--main-js PATH] [--start-timeout DUR] [--ignore-stdin]
//
// Once the emulator serves requests and every --stream is ACTIVE, it prints
// exactly one line of JSON to stdout:
//
//	{"endpoint_url":"http://127.0.0.1:P","tls_endpoint_url":"https://127.0.0.1:T","region":"us-east-1"}
//
// It then runs until SIGTERM or SIGINT, until its stdin reaches end of file
// (so a parent that dies or closes the pipe takes the emulator down with
// it; --ignore-stdin turns this off for use with no stdin, as in a
// background shell job), or until the emulator exits on its own. It always
// stops the emulator before exiting.
//
// Errors go to stderr. Exit status: 0 after a requested stop, 2 if the
// emulator is not installed (run `make emulator`), 1 for any other failure,
// including the emulator exiting on its own.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gokpl/gokpl/internal/cliflag"
	"github.com/gokpl/gokpl/internal/kinesismock"
)

const (
	exitFailure      = 1
	exitNotInstalled = 2
)

// errStdinClosed is the cause of the stop when stdin reaches end of file.
var errStdinClosed = errors.New("stdin closed")

// ready is the line printed once the emulator is usable. Field order is the
// documented output.
type ready struct {
	EndpointURL    string `json:"endpoint_url"`
	TLSEndpointURL string `json:"tls_endpoint_url"`
	Region         string `json:"region"`
}

func main() {
	os.Exit(run())
}

func run() int {
	streams := cliflag.Streams{}
	fs := flag.NewFlagSet("kinesismock", flag.ContinueOnError)
	fs.Var(streams, "stream", "create stream `NAME:SHARDS` at start (repeatable)")
	mainJS := fs.String("main-js", "", "`PATH` to kinesis-local's main.js (default: $"+kinesismock.EnvMainJS+", else tests/emulator/node_modules/kinesis-local/main.js in the working directory or a parent)")
	timeout := fs.Duration("start-timeout", 60*time.Second, "give up if the emulator is not ready within this `duration`")
	ignoreStdin := fs.Bool("ignore-stdin", false, "keep running when stdin reaches end of file")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitFailure
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "kinesismock: unexpected arguments: %q\n", fs.Args())
		return exitFailure
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if !*ignoreStdin {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel(errStdinClosed)
		}()
	}

	e, err := kinesismock.Start(ctx, kinesismock.Options{
		MainJS:       *mainJS,
		Streams:      streams,
		StartTimeout: *timeout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(context.Cause(ctx), errStdinClosed) {
			fmt.Fprintln(os.Stderr, "kinesismock: stopped because stdin reached end of file; use --ignore-stdin to run without stdin")
		}
		if errors.Is(err, kinesismock.ErrNotInstalled) {
			return exitNotInstalled
		}
		return exitFailure
	}
	defer e.Close()

	line, err := json.Marshal(ready{
		EndpointURL:    e.Endpoint(),
		TLSEndpointURL: e.TLSEndpoint(),
		Region:         kinesismock.Region,
	})
	if err == nil {
		_, err = fmt.Fprintf(os.Stdout, "%s\n", line)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kinesismock: writing the ready line: %v\n", err)
		return exitFailure
	}

	select {
	case <-ctx.Done():
		return 0
	case <-e.Done():
		fmt.Fprintf(os.Stderr, "kinesismock: emulator exited unexpectedly\n%s\n", e.Output())
		return exitFailure
	}
}
