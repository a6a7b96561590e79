package main

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// results is the JSON file: conditions, one summary per row, every sample.
type results struct {
	Date       string       `json:"date"`
	Command    string       `json:"command"`
	Args       string       `json:"args"`
	Commit     string       `json:"commit"`
	Machine    machine      `json:"machine"`
	Workload   workload     `json:"workload"`
	Rows       []rowSummary `json:"rows"`
	Ratios     ratios       `json:"ratios"`
	Samples    []sample     `json:"samples"`
	LoadBefore string       `json:"load_before"`
	LoadAfter  string       `json:"load_after"`
}

// machine describes where the benchmark ran.
type machine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	OS    string `json:"os"`
	Go    string `json:"go"`
}

// workload is what every row was asked to do.
type workload struct {
	Records      int     `json:"records"`
	RecordBytes  int     `json:"record_bytes"`
	Shards       int     `json:"shards"`
	Rounds       int     `json:"rounds"`
	PacedRate    int     `json:"paced_rate"`
	PacedSeconds float64 `json:"paced_seconds"`
	Endpoint     string  `json:"endpoint"`
}

// rowSummary sums up one row's samples: medians over the runs that did not
// crash, with the range of records/s.
type rowSummary struct {
	Row              string   `json:"row"`
	Label            string   `json:"label"`
	Runs             int      `json:"runs"`
	Crashes          int      `json:"crashes"`
	CrashMessages    []string `json:"crash_messages,omitempty"`
	Incomplete       int      `json:"incomplete"`
	RecordsPerSec    float64  `json:"records_per_sec"`
	RecordsPerSecMin float64  `json:"records_per_sec_min"`
	RecordsPerSecMax float64  `json:"records_per_sec_max"`
	CPUSecPerMillion float64  `json:"cpu_sec_per_million"`
	PutP50Nanos      int64    `json:"put_p50_ns"`
	PutP99Nanos      int64    `json:"put_p99_ns"`
	PutMaxNanos      int64    `json:"put_max_ns"`
	PeakRSSMiB       float64  `json:"peak_rss_mib"`
	PeakRSSMiBMax    float64  `json:"peak_rss_mib_max"`
}

// ratios compare gokpl's confirmed row with a8m's.
type ratios struct {
	RecordsPerSec     float64 `json:"records_per_sec_gokpl_over_a8m"`
	CPUPerRecord      float64 `json:"cpu_per_record_gokpl_over_a8m"`
	FireRecordsPerSec float64 `json:"records_per_sec_fire_over_a8m"`
	FireCPUPerRecord  float64 `json:"cpu_per_record_fire_over_a8m"`
}

// newResults records the conditions before the first round.
func newResults(o *options) *results {
	return &results{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Command: "make bench-go-peers",
		Args:    strings.Join(os.Args[1:], " "),
		Commit:  gitCommit(),
		Machine: machine{CPU: cpuModel(), Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: goVersion()},
		Workload: workload{Records: o.records, RecordBytes: recordSize, Shards: shardCount, Rounds: o.rounds,
			PacedRate: o.pacedRate, PacedSeconds: o.pacedFor.Seconds(), Endpoint: "build/kinesistest --discard --stream bench:64"},
		LoadBefore: loadAverage(),
	}
}

// finish sums up the samples.
func (r *results) finish() {
	r.LoadAfter = loadAverage()
	r.Rows = nil
	for _, spec := range rows {
		r.Rows = append(r.Rows, summarize(spec, r.Samples))
	}
	confirmed, fire, a8m := r.row("gokpl-confirmed"), r.row("gokpl-fire"), r.row("a8m")
	r.Ratios = ratios{
		RecordsPerSec:     ratio(confirmed.RecordsPerSec, a8m.RecordsPerSec),
		CPUPerRecord:      ratio(confirmed.CPUSecPerMillion, a8m.CPUSecPerMillion),
		FireRecordsPerSec: ratio(fire.RecordsPerSec, a8m.RecordsPerSec),
		FireCPUPerRecord:  ratio(fire.CPUSecPerMillion, a8m.CPUSecPerMillion),
	}
}

// row returns the summary of the named row.
func (r *results) row(name string) rowSummary {
	for _, s := range r.Rows {
		if s.Row == name {
			return s
		}
	}
	return rowSummary{Row: name}
}

// summarize sums up one row's samples.
func summarize(spec row, samples []sample) rowSummary {
	sum := rowSummary{Row: spec.name, Label: spec.label}
	var rates, cpu, p50, p99, rss []float64
	for _, s := range samples {
		if s.Row != spec.name {
			continue
		}
		sum.Runs++
		if s.Crash != "" {
			sum.Crashes++
			sum.CrashMessages = append(sum.CrashMessages, s.Crash)
			continue
		}
		if !s.Complete {
			sum.Incomplete++
		}
		rates = append(rates, float64(s.Records)/s.Seconds)
		cpu = append(cpu, s.CPUSeconds/float64(s.Records)*1e6)
		p50 = append(p50, float64(s.Put.P50Nanos))
		p99 = append(p99, float64(s.Put.P99Nanos))
		rss = append(rss, float64(s.MaxRSSKiB)/1024)
		sum.PutMaxNanos = max(sum.PutMaxNanos, s.Put.MaxNanos)
	}
	if len(rates) == 0 {
		return sum
	}
	sum.RecordsPerSec, sum.RecordsPerSecMin, sum.RecordsPerSecMax = median(rates), slices.Min(rates), slices.Max(rates)
	sum.CPUSecPerMillion = median(cpu)
	sum.PutP50Nanos, sum.PutP99Nanos = int64(median(p50)), int64(median(p99))
	sum.PeakRSSMiB, sum.PeakRSSMiBMax = median(rss), slices.Max(rss)
	return sum
}

// median of a non-empty slice.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ratio is a/b, or 0 without b.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// gitCommit is the repository's commit, or "unknown".
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// cpuModel reads the processor's name from /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(data)) {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimLeft(name, " \t:"))
		}
	}
	return "unknown"
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	return strings.Join(fields[:min(3, len(fields))], " ")
}
