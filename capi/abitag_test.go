//go:build !gokpl_abitest

package main

import "testing"

// TestABITestsNeedTheirBuildTag fails a run of this package's tests without
// the gokpl_abitest tag, which would otherwise leave out, silently, every
// test that calls the library through its C declarations (abicall.go).
func TestABITestsNeedTheirBuildTag(t *testing.T) {
	t.Fatal("capi's ABI tests build only with -tags gokpl_abitest (make test-go sets it): go test -race -tags gokpl_abitest ./...")
}
