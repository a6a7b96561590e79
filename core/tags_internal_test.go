package core

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestAggregatorSizeLimitCountsTags(t *testing.T) {
	const maxSize = 1200
	a, out := newTestAggregator(1<<40, maxSize)
	rng := rand.New(rand.NewPCG(7, 8))
	var in []*userRecord
	for i := range 1500 {
		u := pendingRecord(t, fmt.Sprintf("k%d", rng.IntN(40)), make([]byte, rng.IntN(100)))
		if i%2 == 0 {
			tags := []Tag{{Key: strings.Repeat("t", rng.IntN(150))}}
			if i%4 == 0 {
				tags[0].Value, tags[0].HasValue = strings.Repeat("v", rng.IntN(200)), true
			}
			u.setTags(tags, tagsSize(tags))
		}
		in = append(in, u)
		a.put(u, 0)
	}
	a.flush()
	var got []*userRecord
	for i, k := range out.records {
		checkSizeLimit(t, out, i, maxSize)
		if len(k.records) > 1 {
			records, err := Deaggregate(k.partitionKey, k.explicitHashKey, k.data)
			if err != nil {
				t.Fatal(err)
			}
			for j, r := range records {
				if !equalTags(r.Tags, nilIfEmpty(k.records[j].tags())) {
					t.Fatalf("Kinesis record %d, record %d: tags %+v, want %+v", i, j, r.Tags, k.records[j].tags())
				}
			}
		}
		got = append(got, k.records...)
	}
	if len(got) != len(in) {
		t.Fatalf("%d records out of %d", len(got), len(in))
	}
}

func TestTagsSizeIsTheirEncodedLength(t *testing.T) {
	for i := range 5 {
		tags := testTags(i)
		if n := len(appendTags(nil, tags)); n != tagsSize(tags) {
			t.Fatalf("tags %d: encoded %d bytes, predicted %d", i, n, tagsSize(tags))
		}
	}
}

func TestBudgetCountsTags(t *testing.T) {
	tags := []Tag{{Key: "key", Value: "value", HasValue: true}}
	if got, want := budgetBytes("k", []byte("data"), tags)-budgetBytes("k", []byte("data"), nil), int64(len("key")+len("value")+tagStructBytes); got != want {
		t.Fatalf("tags add %d bytes to the budget, want %d", got, want)
	}
}
