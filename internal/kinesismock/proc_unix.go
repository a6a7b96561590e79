//go:build unix

package kinesismock

import (
	"os/exec"
	"syscall"
)

// terminateGroup asks every process in the emulator's process group to stop.
func terminateGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
}

// killGroup forcibly stops every process in the emulator's process group.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
