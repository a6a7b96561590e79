// Command kinesistest serves a fake Kinesis endpoint for tests and
// benchmarks written in other languages.
//
//	kinesistest --addr 127.0.0.1:0 --stream orders:4 --stream audit:1 --stream big:2:10240
//
// A --stream value is NAME:SHARDS, or NAME:SHARDS:MAXKIB to give the stream
// a maximum record size (data plus partition key) other than 1024 KiB, up
// to 10240 KiB.
//
// Once listening it prints one line of JSON to standard output,
// {"endpoint_url":"http://127.0.0.1:PORT"}, and serves until it receives
// SIGINT or SIGTERM or its standard input reaches end of file, so a parent
// process that holds the pipe open takes the server down when it dies.
//
// Besides the Kinesis API at "/", the endpoint serves the control API
// under /_kinesistest/ (see the kinesistest package), through which tests
// inject faults and read back stored records.
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

	"github.com/gokpl/gokpl/core/kinesistest"
	"github.com/gokpl/gokpl/internal/cliflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run serves until ctx is done or stdin ends, and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, exitOnEOF, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "kinesistest:", err)
		return 2
	}
	srv, err := kinesistest.Start(opts)
	if err != nil {
		fmt.Fprintln(stderr, "kinesistest:", err)
		return 1
	}
	defer srv.Close()

	if err := json.NewEncoder(stdout).Encode(struct {
		EndpointURL string `json:"endpoint_url"`
	}{srv.URL}); err != nil {
		fmt.Fprintln(stderr, "kinesistest:", err)
		return 1
	}

	stdinClosed := make(chan struct{})
	if exitOnEOF {
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			close(stdinClosed)
		}()
	}
	select {
	case <-ctx.Done():
	case <-stdinClosed:
	}
	return 0
}

// parseFlags turns the command line into server options and whether to
// stop at the end of standard input.
func parseFlags(args []string, stderr io.Writer) (kinesistest.Options, bool, error) {
	var opts kinesistest.Options
	streams := cliflag.StreamSpecs{}
	fs := flag.NewFlagSet("kinesistest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "address to listen on")
	fs.Var(streams, "stream", "create stream `NAME:SHARDS[:MAXKIB]` at start, with MAXKIB its maximum record size in KiB (1024 to 10240; default 1024); repeatable")
	fs.StringVar(&opts.Region, "region", "us-east-1", "region in stream ARNs")
	fs.StringVar(&opts.AccountID, "account-id", "123456789012", "account id in stream ARNs")
	fs.BoolVar(&opts.Discard, "discard", false, "keep only record counts, not records")
	rateLimit := fs.Bool("shard-rate-limit", false, "throttle writes to 1000 records and 1 MiB per second per shard")
	fs.DurationVar(&opts.CreateDelay, "create-delay", 0, "keep streams made by CreateStream CREATING this long")
	exitOnEOF := fs.Bool("exit-on-stdin-eof", true, "stop when standard input reaches end of file")
	if err := fs.Parse(args); err != nil {
		return opts, false, err
	}
	if fs.NArg() > 0 {
		return opts, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts.Streams = streams.Shards()
	opts.StreamMaxRecordSizeKiB = streams.MaxRecordSizesKiB()
	if *rateLimit {
		opts.ShardRateLimit = kinesistest.DefaultShardRateLimit
	}
	return opts, *exitOnEOF, nil
}
