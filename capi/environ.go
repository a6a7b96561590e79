package main

/*
#include <stdlib.h>
extern char **environ;

static char *environ_at(size_t i) { return environ[i]; }
*/
import "C"

import (
	"os"
	"strings"
)

// A shared library's Go runtime copies the process environment once, when it
// is loaded. The host changes it later (Python's os.environ writes through to
// the C environment), and the AWS SDK reads credentials, profile, region and
// proxy settings from the environment. syncEnvironment brings the variables
// that matter to the SDK up to date before a producer is built, so a producer
// sees the environment as it is at its creation, as boto3 would.
func syncEnvironment() {
	current := map[string]string{}
	for i := C.size_t(0); ; i++ {
		entry := C.environ_at(i)
		if entry == nil {
			break
		}
		key, value, ok := strings.Cut(C.GoString(entry), "=")
		if ok && sdkVariable(key) {
			current[key] = value
		}
	}
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		if _, still := current[key]; sdkVariable(key) && !still {
			os.Unsetenv(key)
		}
	}
	for key, value := range current {
		if old, ok := os.LookupEnv(key); !ok || old != value {
			os.Setenv(key, value)
		}
	}
}

func sdkVariable(key string) bool {
	switch strings.ToUpper(key) {
	case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY":
		return true
	}
	return strings.HasPrefix(key, "AWS_")
}
