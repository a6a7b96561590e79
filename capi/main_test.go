package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain gives every test of the package static test credentials (the
// fake endpoint checks no signature) and fails the run if a goroutine is
// left behind.
func TestMain(m *testing.M) {
	os.Setenv("AWS_ACCESS_KEY_ID", "test")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	goleak.VerifyTestMain(m)
}
