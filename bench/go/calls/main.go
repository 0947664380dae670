// CPU cost of one call of a small function: run it plain, and built with -toolexec cti-go with
// telemetry off and on (bench/go/run.mjs). Prints nanoseconds per call of leaf.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

//go:noinline
func leaf(a, b int) int {
	return a + b
}

// loop is the instrumented caller, so each leaf call is a child span, as in a real program.
func loop(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s = leaf(s, i)
	}
	return s
}

// cti-ignore: the timer stays out of the measurement.
func main() {
	n, _ := strconv.Atoi(os.Args[1])
	loop(n / 10) // warm-up
	start := cpuTime()
	s := loop(n)
	elapsed := cpuTime() - start
	fmt.Fprintln(os.Stderr, s)
	fmt.Printf("%.1f\n", float64(elapsed)/float64(n))
}

// cpuTime is the process's CPU time (user + system, all threads) in nanoseconds: the machine is
// shared, so wall-clock time would measure the other processes too.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
