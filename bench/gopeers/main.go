// Command gopeers benchmarks gokpl's engine against a8m/kinesis-producer on
// one fake Kinesis endpoint (build/kinesistest --discard), each row in a
// fresh worker process, the rows alternating over several rounds.
//
//	go run . -endpoint-bin ../../build/kinesistest -out ../results/go-peers.json
//	go run . -render ../results/go-peers.json -doc ../../docs/benchmarks.md
//	go run . -endpoint-bin ../../build/kinesistest -profile /tmp/gopeers-profile
//
// Run with -worker ROW, it is the worker: it runs one row against the
// endpoint given by -endpoint and prints its measurements as one line of
// JSON.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

// options are the command line.
type options struct {
	worker      string
	endpoint    string
	endpointBin string
	records     int
	rounds      int
	pacedRate   int
	pacedFor    time.Duration
	out         string
	render      string
	doc         string
	profile     string
	cpuProfile  string
	memProfile  string
}

func main() {
	var o options
	flag.StringVar(&o.worker, "worker", "", "run one row as a worker: "+rowNames())
	flag.StringVar(&o.endpoint, "endpoint", "", "worker: the fake endpoint's URL")
	flag.StringVar(&o.endpointBin, "endpoint-bin", "build/kinesistest", "the kinesistest command")
	flag.IntVar(&o.records, "records", 1_000_000, "records per throughput row")
	flag.IntVar(&o.rounds, "rounds", 6, "alternating rounds")
	flag.IntVar(&o.pacedRate, "paced-rate", 50_000, "records/s of the paced rows")
	flag.DurationVar(&o.pacedFor, "paced-for", 10*time.Second, "length of the paced rows")
	flag.StringVar(&o.out, "out", "bench/results/go-peers.json", "where the results go")
	flag.StringVar(&o.render, "render", "", "render this results file into -doc and exit")
	flag.StringVar(&o.doc, "doc", "docs/benchmarks.md", "the document the results are rendered into")
	flag.StringVar(&o.profile, "profile", "", "profile gokpl's confirmed row into this directory instead of benchmarking")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "worker: write a CPU profile here")
	flag.StringVar(&o.memProfile, "memprofile", "", "worker: write an allocation profile here")
	flag.Parse()
	if err := run(&o); err != nil {
		fmt.Fprintln(os.Stderr, "gopeers:", err)
		os.Exit(1)
	}
}

// run does what the options ask.
func run(o *options) error {
	switch {
	case o.worker != "":
		return runWorker(o)
	case o.render != "":
		return renderFile(o.render, o.doc)
	case o.profile != "":
		return runProfile(o)
	default:
		return runBenchmark(o)
	}
}
