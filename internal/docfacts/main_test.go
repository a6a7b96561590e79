package main

import (
	"slices"
	"testing"

	"github.com/gokpl/gokpl/core"
)

func TestFactsAreCoresOwn(t *testing.T) {
	p, err := load("../../core")
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.facts()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Metrics) != 15 || f.Metrics[0] != (metric{Name: core.MetricUserRecordsReceived, Unit: core.UnitCount, Level: "detailed"}) {
		t.Errorf("metrics = %+v", f.Metrics)
	}
	if !slices.Contains(f.Metrics, metric{Name: core.MetricBufferingTime, Unit: core.UnitMilliseconds, Level: "summary"}) {
		t.Errorf("metrics lack BufferingTime in milliseconds at summary level: %+v", f.Metrics)
	}
	if b := f.Backoffs["throttle"]; b.BaseMillis <= 0 || b.CapMillis <= b.BaseMillis {
		t.Errorf("throttle backoff = %+v", b)
	}
	if b := f.Backoffs["transient"]; b.BaseMillis <= 0 || b.CapMillis <= b.BaseMillis {
		t.Errorf("transient backoff = %+v", b)
	}
	want := classified{
		Code: "InvalidArgumentException", Action: "Fail",
		Group: "The stream or request is wrong; the same request fails forever.",
		Note:  "a whole request refused with it is split first, so only the records it refuses fail",
	}
	if !slices.Contains(f.Classification, want) {
		t.Errorf("classification lacks %+v: %+v", want, f.Classification)
	}
	i := slices.IndexFunc(f.Classification, func(c classified) bool { return c.Code == core.CodeNoCredentials })
	if i < 0 || !f.Classification[i].Own || f.Classification[i].Action != "Fail" {
		t.Errorf("classification of %s: %+v", core.CodeNoCredentials, f.Classification)
	}
	for _, code := range []string{core.CodeExpired, core.CodeProducerClosed, core.CodeRecordCountMismatch, core.CodeRecordTooLarge} {
		if !slices.Contains(f.OwnCodes, code) {
			t.Errorf("own codes %v lack %q", f.OwnCodes, code)
		}
	}
}
