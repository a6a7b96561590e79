//go:build !unix

package kinesismock

import "os/exec"

// configureProcess has nothing to configure on platforms without process
// groups.
func configureProcess(*exec.Cmd) {}

// terminateGroup stops the emulator process. Without process groups or
// SIGTERM there is no graceful variant, so this kills it outright.
func terminateGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// killGroup forcibly stops the emulator process.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
