package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRingHandlerFormatsAndRedacts(t *testing.T) {
	ring := newLogRing()
	ring.setLevel(slog.LevelDebug)
	log := slog.New(&ringHandler{ring: ring}).With("producer", 7).WithGroup("req")
	log.Warn("gokpl: listing shards failed", "stream", "orders", "error", errors.New("boom here"),
		"aws_secret_access_key", "wJalrXUtnFEMI", "SessionToken", "tok", "empty", "")
	e, ok := ring.next(0)
	if !ok {
		t.Fatal("no record")
	}
	want := `listing shards failed producer=7 req.stream=orders req.error="boom here" ` +
		`req.aws_secret_access_key=[redacted] req.SessionToken=[redacted] req.empty=""`
	if e.text != want || e.level != slog.LevelWarn || e.dropped != 0 {
		t.Fatalf("got %q level %v dropped %d, want %q", e.text, e.level, e.dropped, want)
	}
	if time.Since(e.at) > time.Minute {
		t.Fatalf("time %v", e.at)
	}
}

func TestRingLevelFilters(t *testing.T) {
	ring := newLogRing()
	log := slog.New(&ringHandler{ring: ring})
	log.Debug("hidden")
	if _, ok := ring.next(0); ok {
		t.Fatal("a debug record was kept at the default level (info)")
	}
	ring.setLevel(slog.LevelError)
	log.Warn("hidden too")
	log.Error("shown")
	if e, ok := ring.next(0); !ok || e.text != "shown" {
		t.Fatalf("got %+v %v", e, ok)
	}
}

func TestRingDropsTheOldestWhenFull(t *testing.T) {
	ring := newLogRing()
	log := slog.New(&ringHandler{ring: ring})
	for i := range logRingSize + 10 {
		log.Info("r", "i", i)
	}
	e, ok := ring.next(0)
	if !ok || e.text != "r i=10" || e.dropped != 0 {
		t.Fatalf("oldest kept: %+v", e)
	}
	for range logRingSize - 2 {
		ring.next(0)
	}
	if e, _ := ring.next(0); !strings.HasSuffix(e.text, "i=1033") {
		t.Fatalf("newest: %+v", e)
	}
	if _, ok := ring.next(0); ok {
		t.Fatal("more records than the ring holds")
	}
	log.Info("after")
	if e, _ := ring.next(0); e.dropped != 0 {
		t.Fatalf("dropped counted twice: %+v", e)
	}
}

func TestRingReportsDroppedOnTheNextRecord(t *testing.T) {
	ring := newLogRing()
	log := slog.New(&ringHandler{ring: ring})
	for range logRingSize {
		log.Info("fill")
	}
	log.Info("one more") // drops the oldest "fill"
	var last logEntry
	for {
		e, ok := ring.next(0)
		if !ok {
			break
		}
		last = e
	}
	if last.text != "one more" || last.dropped != 1 {
		t.Fatalf("last: %+v", last)
	}
}

func TestRingNextWaits(t *testing.T) {
	ring := newLogRing()
	start := time.Now()
	if _, ok := ring.next(30 * time.Millisecond); ok || time.Since(start) < 30*time.Millisecond {
		t.Fatal("next returned early without a record")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		slog.New(&ringHandler{ring: ring}).Error("late")
	}()
	if e, ok := ring.next(-1); !ok || e.text != "late" {
		t.Fatalf("got %+v %v", e, ok)
	}
}
