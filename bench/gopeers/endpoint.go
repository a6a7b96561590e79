package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"time"
)

// endpoint is a running kinesistest process with its one stream.
type endpoint struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	URL   string
}

// startEndpoint starts `kinesistest --discard --stream bench:64` and reads
// its URL; it stops when its standard input is closed.
func startEndpoint(bin string) (*endpoint, error) {
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--discard", "--stream", streamName+":"+strconv.Itoa(shardCount))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var hello struct {
		EndpointURL string `json:"endpoint_url"`
	}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &hello)
	}
	e := &endpoint{cmd: cmd, stdin: stdin, URL: hello.EndpointURL}
	if err != nil {
		e.stop()
		return nil, fmt.Errorf("kinesistest did not start: %w", err)
	}
	return e, nil
}

// records reads how many Kinesis records the stream holds.
func (e *endpoint) records() (int64, error) {
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(e.URL + "/_kinesistest/streams/" + streamName + "/stats")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("kinesistest stats: %s", resp.Status)
	}
	var stats struct{ Records int64 }
	err = json.NewDecoder(resp.Body).Decode(&stats)
	return stats.Records, err
}

// stop ends the endpoint and waits for it.
func (e *endpoint) stop() {
	e.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = e.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
}
