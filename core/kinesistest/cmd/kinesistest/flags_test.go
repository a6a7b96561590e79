package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"strings"
	"testing"
)

func TestParseFlagsTakesMaxRecordSize(t *testing.T) {
	opts, _, err := parseFlags([]string{"--stream", "orders:2", "--stream", "big:1:10240"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"orders": 2, "big": 1}; !maps.Equal(opts.Streams, want) {
		t.Errorf("Streams = %v, want %v", opts.Streams, want)
	}
	if want := map[string]int{"big": 10240}; !maps.Equal(opts.StreamMaxRecordSizeKiB, want) {
		t.Errorf("StreamMaxRecordSizeKiB = %v, want %v", opts.StreamMaxRecordSizeKiB, want)
	}
}

func TestRunRejectsMaxRecordSizeOutOfRange(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--stream", "big:1:20000"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "maxRecordSizeInKiB") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
