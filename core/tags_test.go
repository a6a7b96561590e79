package core_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gokpl/gokpl/core"
)

func TestTaggedRecordsKeepTheirTagsWhenAggregated(t *testing.T) {
	p, srv := ecProducer(t, map[string]int{"s": 1}, nil)
	ecAwaitShardMap(t, p, srv, "s")
	want := map[string][]core.Tag{}
	var outcomes []*core.Outcome
	for i := range 20 {
		tags := []core.Tag{{Key: "i", Value: fmt.Sprint(i), HasValue: true}}
		if i%3 == 0 {
			tags = append(tags, core.Tag{Key: "key-only"}, core.Tag{Key: "empty-value", HasValue: true})
		}
		if i%4 == 0 {
			tags = nil
		}
		data := fmt.Sprintf("record-%d", i)
		want[data] = tags
		outcomes = append(outcomes, put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte(data), Tags: tags}))
	}
	ecFlush(t, p)
	for _, o := range outcomes {
		if r := wait(t, o); !r.Success {
			t.Fatalf("record failed: %+v", r)
		}
	}
	aggregated := 0
	got := map[string][]core.Tag{}
	for _, k := range srv.Records("s") {
		records, err := core.Deaggregate(k.PartitionKey, k.ExplicitHashKey, k.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			if r.PartitionKey == "k" {
				got[string(r.Data)] = r.Tags
				if core.IsAggregated(k.Data) {
					aggregated++
				}
			}
		}
	}
	if aggregated < 20 {
		t.Fatalf("only %d records arrived aggregated", aggregated)
	}
	for data, tags := range want {
		if g, ok := got[data]; !ok || !slices.Equal(g, tags) {
			t.Errorf("%s: tags %+v, want %+v", data, g, tags)
		}
	}
}

func TestTagsOfARecordSentUnaggregatedAreDropped(t *testing.T) {
	p, srv := ecProducer(t, map[string]int{"s": 1}, func(c *core.Config) { c.AggregationEnabled = false })
	o := put(t, p, core.Record{Stream: "s", PartitionKey: "k", Data: []byte("raw"), Tags: []core.Tag{{Key: "t", Value: "v", HasValue: true}}})
	if r := wait(t, o); !r.Success {
		t.Fatalf("record failed: %+v", r)
	}
	records := srv.Records("s")
	if len(records) != 1 || string(records[0].Data) != "raw" || records[0].PartitionKey != "k" || core.IsAggregated(records[0].Data) {
		t.Fatalf("stored %+v", records)
	}
}

func TestBadTagsAreRefused(t *testing.T) {
	p, _ := ecProducer(t, map[string]int{"s": 1}, nil)
	cases := map[string]struct {
		tags  []core.Tag
		field string
	}{
		"key not UTF-8":   {[]core.Tag{{Key: "ok"}, {Key: "\xff"}}, "tags[1].key"},
		"value not UTF-8": {[]core.Tag{{Key: "k", Value: "\xc3", HasValue: true}}, "tags[0].value"},
		"too large":       {[]core.Tag{{Key: "k", Value: strings.Repeat("v", core.MaxTagsSize), HasValue: true}}, "tags"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x"), Tags: c.tags})
			var invalid *core.InvalidRecordError
			if !errors.As(err, &invalid) || invalid.Field != c.field {
				t.Fatalf("err = %v, want an InvalidRecordError for %s", err, c.field)
			}
		})
	}
	// A value that is not set is not checked.
	if _, err := p.Put(context.Background(), core.Record{Stream: "s", PartitionKey: "k", Data: []byte("x"), Tags: []core.Tag{{Key: "k", Value: "\xff"}}}); err != nil {
		t.Fatalf("tag without a value refused: %v", err)
	}
}
