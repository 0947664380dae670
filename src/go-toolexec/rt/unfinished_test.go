package rt

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var exitSites = [...]Site{{Name: "main.outer", File: "main.go", Line: 3}, {Name: "main.blocked", File: "main.go", Line: 7}}

// call is what cti-go makes of a function whose body is f.
func call(site *Site, f func()) {
	s := Enter(site)
	ok := false
	defer func() { s.End(ok) }()
	f()
	ok = true
}

// capture sends the JSONL export to a file while fn runs and gives the spans written.
func capture(t *testing.T, fn func()) []map[string]any {
	if os.Getenv("CTI_TRACES_FILE") == "" {
		t.Setenv("CTI_TRACES_FILE", os.DevNull)
	}
	if !enabled() || tracesFile == nil {
		t.Skip("telemetry off")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "spans.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	flushLocked()
	old := tracesFile
	tracesFile = f
	mu.Unlock()
	exitMu.Lock()
	exitBudget, exitSaidLeft = unfinishedLimit, false
	exitMu.Unlock()
	fn()
	mu.Lock()
	flushLocked()
	tracesFile = old
	mu.Unlock()
	f.Seek(0, io.SeekStart)
	var spans []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		spans = append(spans, m)
	}
	f.Close()
	return spans
}

// blockIn starts n goroutines blocked in main.blocked called by main.outer until release is
// closed; wait waits for them to end.
func blockIn(n int, release chan struct{}) (wait func()) {
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			call(&exitSites[0], func() {
				call(&exitSites[1], func() {
					ready.Done()
					<-release
				})
			})
		}()
	}
	ready.Wait()
	return done.Wait
}

func attrs(s map[string]any) map[string]any { return s["attributes"].(map[string]any) }

func TestExportOthers(t *testing.T) {
	release := make(chan struct{})
	var wait func()
	spans := capture(t, func() {
		wait = blockIn(5, release)
		exportOthers()
		close(release)
		wait() // their calls end now: they are not exported again
	})
	byID := map[string]map[string]any{}
	for _, s := range spans {
		if attrs(s)["cti.unfinished"] != true || s["status"].(map[string]any)["code"] != "OK" {
			t.Errorf("not unfinished and OK: %v", s)
		}
		byID[s["span_id"].(string)] = s
	}
	if len(spans) != 10 || len(byID) != 10 {
		t.Fatalf("%d spans, %d ids, want 10", len(spans), len(byID))
	}
	for _, s := range spans {
		switch attrs(s)["code.function.name"] {
		case "main.blocked":
			p := byID[s["parent_span_id"].(string)]
			if p == nil || p["name"] != "main.outer" || p["trace_id"] != s["trace_id"] || attrs(s)["code.line.number"] != 7.0 {
				t.Errorf("blocked call %v, parent %v", s, p)
			}
		case "main.outer":
			if s["parent_span_id"] != nil {
				t.Errorf("outer call has a parent: %v", s)
			}
		default:
			t.Errorf("unexpected %v", s)
		}
		if s["end_time_unix_nano"].(string) < s["start_time_unix_nano"].(string) {
			t.Errorf("ends before it starts: %v", s)
		}
	}
}

// TestExportOthersRace ends calls while an exit exports them (go test -race): each call is
// written once, either ended or unfinished.
func TestExportOthersRace(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	spans := capture(t, func() {
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					call(&exitSites[0], func() { call(&exitSites[1], func() {}) })
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
		exportOthers()
		time.Sleep(5 * time.Millisecond)
		close(stop)
		wg.Wait()
	})
	seen := map[string]bool{}
	unfinished := 0
	for _, s := range spans {
		id := s["span_id"].(string)
		if seen[id] {
			t.Fatalf("span %s written twice", id)
		}
		seen[id] = true
		if attrs(s)["cti.unfinished"] == true {
			unfinished++
		}
	}
	if len(spans) == 0 || unfinished > 16 {
		t.Errorf("%d spans, %d unfinished", len(spans), unfinished)
	}
}

func TestExportOthersLimit(t *testing.T) {
	r, w, _ := os.Pipe()
	stderr := os.Stderr
	os.Stderr = w
	release := make(chan struct{})
	var took time.Duration
	spans := capture(t, func() {
		wait := blockIn(unfinishedLimit, release)
		start := time.Now()
		exportOthers()
		exportOthers() // said once
		took = time.Since(start)
		close(release)
		wait()
	})
	os.Stderr = stderr
	w.Close()
	said, _ := io.ReadAll(r)
	// The calls left out end normally once released: 1000 more spans.
	var unfinished []map[string]any
	for _, s := range spans {
		if attrs(s)["cti.unfinished"] == true {
			unfinished = append(unfinished, s)
		}
	}
	if len(unfinished) != unfinishedLimit || len(spans) != 2*unfinishedLimit {
		t.Errorf("%d unfinished of %d spans, want %d of %d", len(unfinished), len(spans), unfinishedLimit, 2*unfinishedLimit)
	}
	if want := "cti: calls still running in 500 more goroutines at exit were not exported (1000 calls at most)\n"; string(said) != want {
		t.Errorf("stderr %q, want %q", said, want)
	}
	if took > time.Second {
		t.Errorf("took %v", took)
	}
	// Whole chains from their outermost call: every blocked call written has its parent.
	ids := map[string]bool{}
	for _, s := range unfinished {
		ids[s["span_id"].(string)] = true
	}
	for _, s := range unfinished {
		if p, ok := s["parent_span_id"].(string); ok && !ids[p] {
			t.Errorf("parent of %v not written", s["name"])
		}
	}
}

func panicRoot(kills chan<- bool) {
	defer func() {
		kills <- panicKills("cti.dev/rt.panicRoot")
		recover()
	}()
	panic("x")
}

func callsPanicRoot(kills chan<- bool) { panicRoot(kills) }

// TestPanicKills: a panic leaving a goroutine's first function ends the process; one that
// leaves it into an uninstrumented caller may be recovered there.
func TestPanicKills(t *testing.T) {
	kills := make(chan bool)
	go panicRoot(kills) // through the compiler's go wrapper
	if !<-kills {
		t.Error("go panicRoot(…): nothing above it can recover")
	}
	go func() { panicRoot(kills) }()
	if <-kills {
		t.Error("called from a closure: it may recover")
	}
	go callsPanicRoot(kills)
	if <-kills {
		t.Error("called from callsPanicRoot: it may recover")
	}
	if !cannotRecover("main.main.gowrap12") || !cannotRecover("main.(*T).Run-fm") || cannotRecover("main.gowrapper") || cannotRecover("main.main.func1") {
		t.Error("cannotRecover")
	}
}
