package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is one run of one row in a fresh worker process.
type sample struct {
	Round int `json:"round"`
	workerResult
	MaxRSSKiB       int64  `json:"max_rss_kib"`
	EndpointRecords int64  `json:"endpoint_records"`
	Complete        bool   `json:"complete"`
	Crash           string `json:"crash,omitempty"`
}

// runBenchmark runs every row in alternating rounds and writes the results.
func runBenchmark(o *options) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	res := newResults(o)
	for round := 1; round <= o.rounds; round++ {
		for _, r := range roundOrder(round, o) {
			s := runRow(self, r, round, o)
			fmt.Fprintln(os.Stderr, describeSample(s))
			res.Samples = append(res.Samples, s)
		}
	}
	res.finish()
	return writeJSON(o.out, res)
}

// roundOrder alternates the rows' order from round to round; the paced
// rows run in the first two rounds only.
func roundOrder(round int, o *options) []row {
	var order []row
	for _, r := range rows {
		if !r.paced || round <= min(2, o.rounds) {
			order = append(order, r)
		}
	}
	if round%2 == 0 {
		slices.Reverse(order)
	}
	return order
}

// runRow runs one row in a fresh worker against a fresh endpoint.
func runRow(self string, r row, round int, o *options) sample {
	s := sample{Round: round, workerResult: workerResult{Row: r.name}}
	ep, err := startEndpoint(o.endpointBin)
	if err != nil {
		s.Crash = err.Error()
		return s
	}
	defer ep.stop()
	args := workerArgs(r, ep.URL, o)
	out, state, crash := runWorkerProcess(self, args)
	s.Crash = crash
	if state != nil {
		if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
			s.MaxRSSKiB = ru.Maxrss
		}
	}
	if crash == "" {
		if err := json.Unmarshal(out, &s.workerResult); err != nil {
			s.Crash = "unreadable result: " + err.Error()
		}
	}
	if n, err := ep.records(); err == nil {
		s.EndpointRecords = n
	}
	s.Complete = s.Crash == "" && s.Delivered == int64(s.Records) && s.Failed == 0 &&
		s.PutErrors == 0 && s.KinesisRecords == s.EndpointRecords
	return s
}

// workerArgs is the worker's command line for row r.
func workerArgs(r row, url string, o *options) []string {
	args := []string{"-worker", r.name, "-endpoint", url,
		"-records", strconv.Itoa(o.records),
		"-paced-rate", strconv.Itoa(o.pacedRate), "-paced-for", o.pacedFor.String()}
	if o.cpuProfile != "" {
		args = append(args, "-cpuprofile", o.cpuProfile)
	}
	if o.memProfile != "" {
		args = append(args, "-memprofile", o.memProfile)
	}
	return args
}

// runWorkerProcess runs a worker and returns its standard output, its exit
// state and, if it did not exit cleanly, what went wrong (a panic's first
// lines, or its exit status).
func runWorkerProcess(self string, args []string) (stdout []byte, state *os.ProcessState, crash string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err == nil {
		return out.Bytes(), cmd.ProcessState, ""
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return nil, nil, err.Error()
	}
	return nil, cmd.ProcessState, crashReport(exit, errOut.String())
}

// crashReport names how a worker ended: its panic or error message, where
// it panicked, and its exit status.
func crashReport(exit *exec.ExitError, stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
			if where := panicSite(lines[i+1:]); where != "" {
				return fmt.Sprintf("%s at %s (%s)", line, where, exit)
			}
			return fmt.Sprintf("%s (%s)", line, exit)
		}
	}
	return fmt.Sprintf("%s (%s)", lines[len(lines)-1], exit)
}

// panicSite finds the first frame outside the runtime in the panicking
// goroutine's stack: the function and its file and line.
func panicSite(stack []string) string {
	for i := 0; i+1 < len(stack); i++ {
		fn := strings.TrimSpace(stack[i])
		if !strings.HasPrefix(stack[i+1], "\t") || strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(stack[i], "\t") {
			continue
		}
		if j := strings.LastIndex(fn, "("); j > 0 {
			fn = fn[:j]
		}
		file := strings.TrimSpace(stack[i+1])
		if j := strings.LastIndex(file, "/"); j >= 0 {
			file = file[j+1:]
		}
		if j := strings.Index(file, " +0x"); j >= 0 {
			file = file[:j]
		}
		return fn + " (" + file + ")"
	}
	return ""
}

// describeSample is one progress line.
func describeSample(s sample) string {
	if s.Crash != "" {
		return fmt.Sprintf("round %d %-16s CRASH %s", s.Round, s.Row, s.Crash)
	}
	return fmt.Sprintf("round %d %-16s %9.0f records/s  cpu %.2f s  put p99 %d ns  rss %d MiB  delivered %d/%d  complete %v",
		s.Round, s.Row, float64(s.Records)/s.Seconds, s.CPUSeconds, s.Put.P99Nanos, s.MaxRSSKiB/1024, s.Delivered, s.Records, s.Complete)
}

// runProfile profiles gokpl's confirmed row in one worker.
func runProfile(o *options) error {
	if err := os.MkdirAll(o.profile, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	o.cpuProfile = filepath.Join(o.profile, "gokpl-confirmed.cpu.pprof")
	o.memProfile = filepath.Join(o.profile, "gokpl-confirmed.allocs.pprof")
	r, _ := rowNamed("gokpl-confirmed")
	s := runRow(self, r, 1, o)
	fmt.Fprintln(os.Stderr, describeSample(s))
	fmt.Fprintf(os.Stderr, "profiles: %s %s\n", o.cpuProfile, o.memProfile)
	if s.Crash != "" {
		return errors.New(s.Crash)
	}
	return nil
}

// writeJSON writes v to path, indented.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// goVersion is the toolchain the benchmark was built with.
func goVersion() string { return runtime.Version() }
