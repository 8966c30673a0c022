//go:build !unix

package attest

import "time"

// cpuTime is not measured here: the CPU metrics read 0.
func cpuTime() time.Duration { return 0 }

// CPUTime lets the external tests' benchmarks read it.
var CPUTime = cpuTime
