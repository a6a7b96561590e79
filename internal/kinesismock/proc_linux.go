//go:build linux

package kinesismock

import (
	"os/exec"
	"syscall"
)

// configureProcess puts the emulator in its own process group, so that it
// can be signalled as a whole and does not receive terminal signals meant for
// the test process, and asks the kernel to SIGKILL it if the thread that
// started it dies. Go does not retire OS threads it did not lock, so in
// practice the emulator dies together with the test process.
func configureProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
}
