// Cost of one OpenTelemetry Go SDK span around the same call (bench/go/run.mjs): a tracer
// provider with a batch processor and an exporter that discards. Prints nanoseconds per call.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

var tracer trace.Tracer

//go:noinline
func leaf(ctx context.Context, a, b int) int {
	_, span := tracer.Start(ctx, "leaf")
	defer span.End()
	return a + b
}

func loop(n int) int {
	ctx, span := tracer.Start(context.Background(), "loop")
	defer span.End()
	s := 0
	for i := 0; i < n; i++ {
		s = leaf(ctx, s, i)
	}
	return s
}

func main() {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	defer tp.Shutdown(context.Background())
	tracer = tp.Tracer("bench")
	n, _ := strconv.Atoi(os.Args[1])
	loop(n / 10)
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
