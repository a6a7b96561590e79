// Command capi is libgokpl.so: the C ABI over gokpl's Go engine, built with
// -buildmode=c-shared. The contract is the hand-written gokpl.h; every
// function here implements one declared there.
//
// Objects cross the boundary as uint64 handles from the tables in
// handles.go. Every export recovers panics into GOKPL_ERR_INTERNAL, copies
// its inputs, and writes results only into caller buffers.
package main

/*
#include "cgotypes.h"
*/
import "C"

// Version is the library version reported by gokpl_version; the Python
// package refuses to load a library whose version differs from its own.
// It is written in one place, python/gokpl/_version.py, and given to the
// linker (-X main.Version=...) by build_native.py and the Makefile; a
// library built without it reports this placeholder, which no package
// loads.
var Version = "0.0.0-unversioned"

func main() {}
