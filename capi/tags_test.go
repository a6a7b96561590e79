//go:build gokpl_abitest

package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/gokpl/gokpl/core"
)

func TestTaggedRecordsAreWrittenWithTheirTags(t *testing.T) {
	f := newFixture(t, map[string]any{"record_max_buffered_time_ms": 60_000})
	v, empty := "v", ""
	tags := [][]abiTag{
		{{Key: "a", Value: &v}, {Key: "key-only"}},
		{{Key: "", Value: &empty}},
		nil,
		{{Key: "ключ", Value: &v}},
	}
	var outcomes []uint64
	for i, ts := range tags {
		o, status, msg := callPut(f.producer, stream, abiRecord{PartitionKey: "k", Data: []byte{byte('0' + i)}, Tags: ts}, -1)
		if status != statusOK {
			t.Fatalf("put %d = %d (%s)", i, status, msg)
		}
		outcomes = append(outcomes, o)
	}
	expect(t, "flush", callFlush(f.producer, 10_000), statusOK)
	for _, o := range outcomes {
		expect(t, "wait", callOutcomeWait(o, 10_000), statusOK)
		callOutcomeFree(o)
	}
	f.close(5_000, statusOK)
	var got []core.DeaggregatedRecord
	stored := f.srv.Records(stream)
	for i, k := range stored {
		records, err := core.Deaggregate(k.PartitionKey, k.ExplicitHashKey, k.Data)
		if err != nil || !core.IsAggregated(k.Data) {
			t.Fatalf("stored record %d of %d not aggregated (%v): %q", i, len(stored), err, k.Data)
		}
		got = append(got, records...)
	}
	if len(got) != len(tags) {
		t.Fatalf("%d records stored, want %d", len(got), len(tags))
	}
	for i, ts := range tags {
		var want []core.Tag
		for _, tag := range ts {
			w := core.Tag{Key: tag.Key}
			if tag.Value != nil {
				w.Value, w.HasValue = *tag.Value, true
			}
			want = append(want, w)
		}
		if !slices.Equal(got[i].Tags, want) {
			t.Errorf("record %d: tags %+v, want %+v", i, got[i].Tags, want)
		}
	}
}

func TestPutRejectsMalformedTagsAndPutsNothing(t *testing.T) {
	f := newFixture(t, nil)
	for which, want := range map[abiBadTag]string{
		tagsNullWithCount:      "tags is NULL with a tag_count",
		tagKeyNullWithLength:   "tags[1].key is NULL with a length",
		tagValueNullWithLength: "tags[1].value is NULL with a length",
		tagHasValueTwo:         "tags[1].has_value is 2",
		tagCountTooLarge:       "tag_count is larger than memory can hold",
	} {
		o, status, msg := callPutWithBadTag(f.producer, stream, which)
		if status != statusInvalidArgument || o != 0 || !strings.Contains(msg, want) {
			t.Errorf("%s: put = %d (%q), outcome %#x", want, status, msg, o)
		}
		f.assertNothingPut(want)
	}
	f.close(5_000, statusOK)
}

func TestPutRejectsInvalidTags(t *testing.T) {
	f := newFixture(t, nil)
	huge, bad := strings.Repeat("v", core.MaxTagsSize), "\xc3"
	cases := map[string][]abiTag{
		"tags[0].key":   {{Key: "\xff"}},
		"tags[1].value": {{Key: "k"}, {Key: "k", Value: &bad}},
		"tags must":     {{Key: "k", Value: &huge}},
	}
	for field, tags := range cases {
		o, status, msg := callPut(f.producer, stream, abiRecord{PartitionKey: "k", Data: []byte("x"), Tags: tags}, 0)
		if status != statusInvalidRecord || o != 0 || !strings.Contains(msg, field) {
			t.Errorf("%s: status %d, handle %#x, message %q", field, status, o, msg)
		}
	}
	f.assertNothingPut("invalid tags")
	f.close(5_000, statusOK)
}
