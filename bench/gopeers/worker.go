package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

// streamName and shardCount describe the fake endpoint's one stream.
const (
	streamName = "bench"
	shardCount = 64
)

// workerResult is what a worker measures of its row.
type workerResult struct {
	Row            string  `json:"row"`
	Records        int     `json:"records"`
	PutErrors      int64   `json:"put_errors"`
	Seconds        float64 `json:"seconds"`
	CPUSeconds     float64 `json:"cpu_seconds"`
	Put            latency `json:"put"`
	Delivered      int64   `json:"delivered"`
	Failed         int64   `json:"failed"`
	KinesisRecords int64   `json:"kinesis_records"`
}

// library is one producer under test, set up and ready for puts.
type library interface {
	// put hands one record to the producer.
	put(key string) error
	// finish waits for every record put so far, stops the producer and
	// reports how many records were written and how many failed.
	finish(ctx context.Context) (delivered, failed int64, err error)
	// kinesisRecords is how many Kinesis records the endpoint accepted.
	kinesisRecords() int64
}

// row is a benchmark row: which library, whether outcomes are kept, and
// whether puts are paced.
type row struct {
	name    string
	label   string
	open    func(ctx context.Context, endpoint string) (library, error)
	paced   bool
	library string
}

// rows are every row, throughput rows first.
var rows = []row{
	{name: "gokpl-confirmed", label: "gokpl, confirmed (every Outcome kept and waited for)", open: openGokplConfirmed, library: "gokpl"},
	{name: "gokpl-fire", label: "gokpl, fire-and-forget (Put, Flush, Close)", open: openGokplFire, library: "gokpl"},
	{name: "a8m", label: "a8m/kinesis-producer (Put, Stop)", open: openA8m, library: "a8m"},
	{name: "gokpl-unaggregated", label: "gokpl, confirmed, aggregation off", open: openGokplUnaggregated, library: "gokpl"},
	{name: "gokpl-paced", label: "gokpl, confirmed, paced", open: openGokplConfirmed, paced: true, library: "gokpl"},
	{name: "a8m-paced", label: "a8m/kinesis-producer, paced", open: openA8m, paced: true, library: "a8m"},
}

// rowNames lists the rows' names for the usage message.
func rowNames() string {
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// rowNamed finds a row by name.
func rowNamed(name string) (row, error) {
	for _, r := range rows {
		if r.name == name {
			return r, nil
		}
	}
	return row{}, fmt.Errorf("no row %q (rows: %s)", name, rowNames())
}

// runWorker runs one row and prints its result as JSON.
func runWorker(o *options) error {
	r, err := rowNamed(o.worker)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lib, err := r.open(ctx, o.endpoint)
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	res, err := measure(ctx, r, lib, o)
	stopProfile()
	if err != nil {
		return err
	}
	if err := writeAllocProfile(o.memProfile); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// measure puts the row's records and times them.
func measure(ctx context.Context, r row, lib library, o *options) (workerResult, error) {
	res := workerResult{Row: r.name}
	var hist histogram
	cpuBefore := cpuTime()
	start := time.Now()
	if r.paced {
		res.Records = int(float64(o.pacedRate) * o.pacedFor.Seconds())
		res.PutErrors = putPaced(lib, res.Records, float64(o.pacedRate), &hist)
	} else {
		res.Records = o.records
		res.PutErrors = putAll(lib, res.Records, &hist)
	}
	delivered, failed, err := lib.finish(ctx)
	if err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.CPUSeconds = (cpuTime() - cpuBefore).Seconds()
	res.Put = hist.summary()
	res.Delivered, res.Failed = delivered, failed
	res.KinesisRecords = lib.kinesisRecords()
	return res, nil
}

// putAll puts n records as fast as one goroutine can, timing each put.
func putAll(lib library, n int, hist *histogram) (errors int64) {
	for i := range n {
		errors += timedPut(lib, i, hist)
	}
	return errors
}

// timedPut puts record i, adding how long the put took to hist; 1 if it
// failed, else 0.
func timedPut(lib library, i int, hist *histogram) int64 {
	key := partitionKey(i)
	before := time.Now()
	err := lib.put(key)
	hist.add(time.Since(before))
	if err != nil {
		return 1
	}
	return 0
}

// putPaced puts n records at rate records/s, timing each put.
func putPaced(lib library, n int, rate float64, hist *histogram) (errors int64) {
	p := pacer{start: time.Now(), rate: rate}
	for i := 0; i < n; {
		for due := min(p.due(), n); i < due; i++ {
			errors += timedPut(lib, i, hist)
		}
		time.Sleep(time.Millisecond)
	}
	return errors
}

// startCPUProfile starts a CPU profile into path, if one is asked for.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeAllocProfile writes the allocation profile to path, if one is asked for.
func writeAllocProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}
