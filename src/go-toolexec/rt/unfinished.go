package rt

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// At an exit (main.main ends, os.Exit or log.Fatal in instrumented code, a panic that kills
// the process) the calls still running in other goroutines are exported as unfinished. Their
// goroutines are not stopped, so each is first frozen: its top span is swapped for &frozen.
// Enter and End change the top by compare-and-swap only, so from then on both fail: a call is
// not exported a second time, no span of the chain is reused, nothing more is recorded there.
// Only what Enter wrote before publishing a span (site, ids, start) is read: arguments and
// events may be being written at that moment.

// frozen marks the top of a goroutine whose running calls were exported as unfinished.
var frozen Span

// unfinishedLimit bounds the calls of other goroutines written at exit (time and memory with
// many goroutines blocked); those left out are counted once on stderr.
const unfinishedLimit = 1000

var (
	exitMu       sync.Mutex // one exit at a time writes the others' calls
	exitBudget   = unfinishedLimit
	exitSaidLeft bool
)

// freeze takes a goroutine's running calls for export at exit: the top span (its parents
// follow), or nil if none runs or another exit took them.
func freeze(g *gstate) *Span {
	for {
		t := g.top.Load()
		if t == nil || t == &frozen {
			return nil
		}
		if g.top.CompareAndSwap(t, &frozen) {
			return t
		}
	}
}

// exportOthers writes the calls still running in other goroutines, ended now and marked
// unfinished, up to unfinishedLimit of them.
func exportOthers() {
	exitMu.Lock()
	defer exitMu.Unlock()
	t, me, left := now(), goid(), 0
	goroutines.Range(func(_, v any) bool {
		g := v.(*gstate)
		if g.id == me {
			return true
		}
		if exitBudget <= 0 {
			if top := g.top.Load(); top != nil && top != &frozen {
				left++
			}
			return true
		}
		if top := freeze(g); top != nil {
			exitBudget -= exportChain(top, t, exitBudget)
		}
		return true
	})
	if left > 0 && !exitSaidLeft {
		exitSaidLeft = true
		os.Stderr.WriteString("cti: calls still running in " + strconv.Itoa(left) + " more goroutines at exit were not exported (" + strconv.Itoa(unfinishedLimit) + " calls at most)\n")
	}
}

// exportChain exports the outermost limit calls of a frozen goroutine (so that each one written
// has its parent written too) and says how many it wrote.
func exportChain(top *Span, end int64, limit int) int {
	depth := 0
	for s := top; s != nil; s = s.parent {
		depth++
	}
	s := top
	for ; depth > limit; depth-- {
		s = s.parent
	}
	n := 0
	for ; s != nil; s = s.parent {
		if s.rec {
			exportUnfinished(s, end)
			n++
		}
	}
	return n
}

// exportUnfinished exports a copy of s made of the fields Enter set before publishing it.
func exportUnfinished(s *Span, end int64) {
	u := Span{site: s.site, traceID: s.traceID, spanID: s.spanID, parentID: s.parentID, hasParent: s.hasParent, rec: true, start: s.start, end: max(end, s.start)}
	u.attrs = append(u.attrBuf[:0], attr{key: "cti.unfinished", isTrue: true})
	export(&u)
}

// panicKills tells whether a panic leaving the outermost instrumented call of this goroutine
// (function name) ends the process: nothing above that call but the goroutine's start (or
// runtime.main) and compiler wrappers, which cannot recover. Else an uninstrumented caller
// (net/http, testing) may recover it and the others go on.
func panicKills(name string) bool {
	pcs := make([]uintptr, 256)
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	var outer []string // function names from the last frame named name outwards
	found := false
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function == name {
			outer, found = outer[:0], true
		} else {
			outer = append(outer, f.Function)
		}
		if !more {
			break
		}
	}
	for _, fn := range outer {
		if !cannotRecover(fn) {
			return false
		}
	}
	return found
}

// cannotRecover: the functions that may run between a goroutine's start and its first
// instrumented call without deferring anything.
func cannotRecover(fn string) bool {
	if fn == "runtime.goexit" || fn == "runtime.main" || strings.HasSuffix(fn, "-fm") {
		return true
	}
	i := strings.LastIndex(fn, ".gowrap")
	return i >= 0 && strings.Trim(fn[i+len(".gowrap"):], "0123456789") == ""
}
