//go:build unix && !linux

package kinesismock

import (
	"os/exec"
	"syscall"
)

// configureProcess puts the emulator in its own process group, so that it
// can be signalled as a whole and does not receive terminal signals meant for
// the test process. Platforms other than Linux have no parent-death signal;
// there the emulator is stopped only by Close.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
