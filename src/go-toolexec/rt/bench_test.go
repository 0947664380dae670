package rt

import (
	"os"
	"syscall"
	"testing"
)

var benchSites = [...]Site{{Name: "main.leaf", File: "main.go", Line: 13}, {Name: "main.loop", File: "main.go", Line: 18}}

// leaf is what cti-go makes of `func leaf(a, b int) int { return a + b }`.
//
//go:noinline
func benchLeaf(a, b int) (r0 int) {
	s := Enter(&benchSites[0])
	if s != nil {
		s.Arg("a", a)
		s.Arg("b", b)
	}
	ok := false
	defer func() {
		if s.Returned(ok) {
			s.Return(r0)
		}
		s.End(ok)
	}()
	r0 = a + b
	ok = true
	return r0
}

func benchLoop(n int) (r0 int) {
	s := Enter(&benchSites[1])
	if s != nil {
		s.Arg("n", n)
	}
	ok := false
	defer func() {
		if s.Returned(ok) {
			s.Return(r0)
		}
		s.End(ok)
	}()
	x := 0
	for i := 0; i < n; i++ {
		s.Iter(0, "for", 20)
		x = benchLeaf(x, i)
	}
	r0 = x
	ok = true
	return r0
}

// BenchmarkCall: go test -run '^$' -bench Call (CTI_TRACES_FILE=/dev/null unless set).
func BenchmarkCall(b *testing.B) {
	if os.Getenv("CTI_TRACES_FILE") == "" && os.Getenv("CTI_BENCH_OFF") == "" {
		os.Setenv("CTI_TRACES_FILE", "/dev/null")
	}
	b.ReportAllocs()
	t := cpuTime()
	benchLoop(b.N)
	b.ReportMetric(float64(cpuTime()-t)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's CPU time: the machine is shared, wall time would count the others.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// TestSpawnRace starts goroutines while their spawners' spans end and are reused (go test -race).
func TestSpawnRace(t *testing.T) {
	if os.Getenv("CTI_TRACES_FILE") == "" {
		t.Setenv("CTI_TRACES_FILE", os.DevNull)
	}
	if !enabled() {
		t.Skip("telemetry off")
	}
	done := make(chan struct{})
	for i := 0; i < 200; i++ {
		go func() {
			benchLoop(3)
			done <- struct{}{}
		}()
		benchLoop(2)
	}
	for i := 0; i < 200; i++ {
		<-done
	}
}
