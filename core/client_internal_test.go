package core

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"
)

// The SDK's warnings reach the producer's logger as warnings, except its
// note about an unread response body, which closing a producer can cause
// and which says nothing about any record.
func TestSDKMessagesGoToTheProducersLogger(t *testing.T) {
	var out bytes.Buffer
	l := sdkLogger{log: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Logf(logging.Warn, "falling back to %s", "IMDS")
	l.Logf(logging.Warn, "failed to discard remaining HTTP response body, this may affect connection reuse: %v", "closed")
	l.Logf(logging.Debug, "request sent")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"level=WARN", "level=DEBUG", "level=DEBUG"}
	if len(lines) != len(want) {
		t.Fatalf("logged %q", out.String())
	}
	for i, line := range lines {
		if !strings.Contains(line, want[i]) || !strings.Contains(line, "gokpl: aws sdk: ") {
			t.Errorf("line %d = %q, want %s and the aws sdk prefix", i, line, want[i])
		}
	}
}
