package kinesistest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/gokpl/gokpl/core/kinesistest"
)

// BenchmarkPutRecords measures the server's cost per PutRecords request of
// 500 records of 1 KiB sent over loopback, with records kept or discarded.
func BenchmarkPutRecords(b *testing.B) {
	for _, discard := range []bool{false, true} {
		b.Run(fmt.Sprintf("discard=%v", discard), func(b *testing.B) {
			srv := kinesistest.NewServer(kinesistest.Options{Streams: map[string]int{"s": 8}, Discard: discard})
			defer srv.Close()
			body := putRecordsBody(500, 1024)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					postPutRecords(b, client, srv.URL, body)
				}
			})
			b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func putRecordsBody(records, size int) []byte {
	type entry struct{ Data, PartitionKey string }
	entries := make([]entry, records)
	data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'x'}, size))
	for i := range entries {
		entries[i] = entry{Data: data, PartitionKey: fmt.Sprintf("key-%d", i)}
	}
	body, _ := json.Marshal(struct {
		StreamName string
		Records    []entry
	}{"s", entries})
	return body
}

func postPutRecords(b *testing.B, client *http.Client, url string, body []byte) {
	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.PutRecords")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("status %d", resp.StatusCode)
	}
}
