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
	"sync"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// A shared library's Go runtime copies the process environment once, when it
// is loaded. The host changes it later (Python's os.environ writes through to
// the C environment), and the AWS SDK reads credentials, profile, region and
// proxy settings from the environment, and finds the shared config and
// credentials files (~/.aws/config, ~/.aws/credentials) and the SSO cache
// through HOME. syncEnvironment brings the variables that matter to the SDK
// up to date before a producer is built, so a producer sees the environment
// as it is at its creation, as boto3 would.
//
// The SDK fixes the default paths of the shared files when it is
// initialised, from HOME as it was then (config.DefaultSharedConfigFiles,
// DefaultSharedCredentialsFiles); they are set again from HOME as it is now.
// Callers hold environMu until the producer is built, since those are plain
// variables the SDK reads while it loads its configuration.
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
	awsconfig.DefaultSharedConfigFiles = []string{awsconfig.DefaultSharedConfigFilename()}
	awsconfig.DefaultSharedCredentialsFiles = []string{awsconfig.DefaultSharedCredentialsFilename()}
}

// environMu is held from syncEnvironment until the producer it is for is
// built.
var environMu sync.Mutex

// sdkVariable reports whether the SDK, or the Go runtime under it, reads the
// variable: AWS_* (credentials, AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE,
// AWS_CONFIG_FILE, region, endpoints), the proxies, HOME (where ~ is, for the
// shared files) and the TLS roots (read at the first TLS connection of the
// process).
func sdkVariable(key string) bool {
	switch strings.ToUpper(key) {
	case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY":
		return true
	}
	switch key {
	case "HOME", "SSL_CERT_FILE", "SSL_CERT_DIR":
		return true
	}
	return strings.HasPrefix(key, "AWS_")
}
