// Package rt is the telemetry runtime that cti-go links into instrumented Go programs.
// It is standard-library only and is never imported by hand: cti-go adds the import while
// compiling. The contract it implements is docs/telemetry.md.
package rt

import (
	"math/rand"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Site is the static description of one instrumented function (one per function, generated).
type Site struct {
	Name string
	File string
	Line int
	// Main marks main.main: when it ends the process is about to exit, so everything is flushed.
	Main bool
	// enc holds the parts of this site's encoded spans that never change, made at its first export.
	enc atomic.Pointer[siteEnc]
}

type attr struct {
	key    string
	str    string
	num    int
	isNum  bool
	isTrue bool // the JSON literal true
	arg    bool // key is a parameter name, exported as cti.arg.<key>
	// The preview of an immutable value is made when the span is encoded, not when captured:
	// intText shows num as a string ("42"), quoted shows str as strconv.Quote would, truncated.
	intText bool
	quoted  bool
}

type event struct {
	name  string
	time  int64
	attrs []attr
	// loop events are finalised (iteration count) when the span ends.
	loopIters int
	isLoop    bool
}

// Span is one call of an instrumented function. A nil *Span (runtime disabled) ignores every call.
type Span struct {
	site                      *Site
	g                         *gstate
	parent                    *Span    // the enclosing instrumented call on the same goroutine (nil at a goroutine's root)
	traceID                   [32]byte // ids are kept in hex, as they are exported
	spanID                    [16]byte
	parentID                  [16]byte
	hasParent                 bool
	rec                       bool // sampled: recorded and exported
	start                     int64
	end                       int64
	attrs                     []attr
	attrBuf                   [4]attr // room for the usual few arguments and the return value, in the same allocation
	events                    []event
	dropped                   int
	loops                     []loopRef
	status                    string // "" = OK, else the ERROR message
	goexit                    bool
	panicking                 bool
	checked                   bool // Returned looked at the stack already
	excType, excMsg, excStack string
}

type loopRef struct{ id, idx int }

// gstate is the per-goroutine stack of running spans, keyed by goroutine id.
type gstate struct {
	id  uint64
	top atomic.Pointer[Span] // read by goroutines this one starts (spawner)
	// readers counts the goroutines reading top's span (spawner): a span that ends meanwhile
	// is left to the garbage collector instead of being reused.
	readers atomic.Int32
	spare   *Span  // a span to reuse, kept by release (used by this goroutine only)
	rng     uint64 // the state of this goroutine's span id generator (newSpanID)
	// panicked holds spans that ended by a panic on this goroutine whose value is not known
	// yet: a recover() in instrumented code tells it (Recovered), else they go out as they are.
	panicked []*Span
}

var goroutines sync.Map // uint64 -> *gstate

// gcache is a direct-mapped cache in front of goroutines for a goroutine's own look-ups. Only
// goroutine N stores (or clears) the entry of id N, and ids are never reused, so an entry found
// with the right id is current; a collision just falls back to the map.
var gcache [1024]atomic.Pointer[gstate]

// self is the current goroutine's state, or nil if no instrumented call runs on it.
func self(id uint64) *gstate {
	if g := gcache[id%uint64(len(gcache))].Load(); g != nil && g.id == id {
		return g
	}
	if v, ok := goroutines.Load(id); ok {
		g := v.(*gstate)
		gcache[id%uint64(len(gcache))].Store(g)
		return g
	}
	return nil
}

func forget(g *gstate) {
	if g.spare != nil {
		spanPool.Put(g.spare)
		g.spare = nil
	}
	goroutines.Delete(g.id)
	gcache[g.id%uint64(len(gcache))].CompareAndSwap(g, nil)
}

// running tells whether a call runs on some goroutine, for settle. A goroutine stays in the map
// from its first call until its outermost call has ended and been exported (forget), so one
// whose top is already nil is still writing that call's span: it counts too.
func running() bool {
	found := false
	goroutines.Range(func(_, v any) bool {
		found = v.(*gstate).top.Load() != &frozen
		return !found
	})
	return found
}

// settle gives other goroutines up to 10 ms to finish the calls they are ending, before the
// process exits (main.main returns, os.Exit, log.Fatal): a goroutine that signalled its caller
// from a deferred call (wg.Done) still has its own span to end after that.
func settle() {
	deadline := now() + int64(10*time.Millisecond)
	for running() && now() < deadline {
		runtime.Gosched()
	}
}

// Enter starts the span of a call. It returns nil when telemetry is off.
func Enter(site *Site) *Span {
	if !enabled() {
		return nil
	}
	id := goid()
	g := self(id)
	if g == nil {
		g = &gstate{id: id, rng: rand.Uint64()}
		goroutines.Store(id, g)
		gcache[id%uint64(len(gcache))].Store(g)
	}
	parent := g.top.Load()
	if parent == &frozen { // exported as unfinished at an exit: nothing more is recorded here
		return nil
	}
	s := g.spare
	if s != nil {
		g.spare = nil
	} else {
		s = spanPool.Get().(*Span)
	}
	s.site, s.g, s.parent = site, g, parent
	s.attrs = s.attrBuf[:0]
	if parent != nil {
		s.traceID = parent.traceID
		s.parentID = parent.spanID
		s.hasParent = true
		s.rec = parent.rec
	} else if s.traceID, s.parentID, s.rec, s.hasParent = spawner(); !s.hasParent {
		var x uint64
		s.traceID, x = newTraceID()
		s.rec = sampleRoot(x)
	}
	s.spanID = g.newSpanID()
	s.start = now()
	// Not a store: an exit may have frozen this goroutine since parent was read (exportOthers).
	if !g.top.CompareAndSwap(parent, s) {
		return nil
	}
	return s
}

// Spans are reused: once exported, nothing refers to one (children ended before it, on the same
// goroutine), except a goroutine that is starting and reads it as its spawner's (gstate.readers).
var spanPool = sync.Pool{New: func() any { return new(Span) }}

// release makes an exported span reusable: the next call on its goroutine takes it (spare).
func release(s *Span) {
	g := s.g
	*s = Span{}
	if g.spare == nil {
		g.spare = s
	} else {
		spanPool.Put(s)
	}
}

// spawner gives the trace and span ids of the span running in the goroutine that started the
// current one (read from the "created by … in goroutine N" line of this goroutine's stack), and
// whether it is sampled; ok is false if there is none.
func spawner() (traceID [32]byte, spanID [16]byte, rec, ok bool) {
	buf := make([]byte, 8192)
	buf = buf[:runtime.Stack(buf, false)]
	i := strings.LastIndex(string(buf), " in goroutine ")
	if i < 0 {
		return
	}
	var n uint64
	for _, c := range buf[i+len(" in goroutine "):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	if v, found := goroutines.Load(n); found {
		g := v.(*gstate)
		// While readers > 0 the spawner's goroutine does not reuse the span it ends (End).
		g.readers.Add(1)
		if p := g.top.Load(); p != nil && p != &frozen {
			traceID, spanID, rec, ok = p.traceID, p.spanID, p.rec, true
		}
		g.readers.Add(-1)
	}
	return
}

// now is the wall clock in Unix nanoseconds, read as an anchor (a wall time and the monotonic
// clock at that moment) plus the monotonic time since: time.Since reads one clock, time.Now two,
// and each read costs about 25 ns on a VM. The anchor is renewed at most every second (reanchor),
// so a step of the wall clock shows after a second at most, as in the SDKs.
func now() int64 {
	if a := anchor.Load(); a != nil {
		return a.wall + int64(time.Since(a.mono))
	}
	return time.Now().UnixNano()
}

type clockAnchor struct {
	mono time.Time
	wall int64
}

var anchor atomic.Pointer[clockAnchor]

// reanchor takes a new anchor if the current one is more than a second old (or force).
func reanchor(force bool) {
	if a := anchor.Load(); force || a == nil || time.Since(a.mono) > time.Second {
		t := time.Now()
		anchor.Store(&clockAnchor{mono: t, wall: t.UnixNano()})
	}
}

// full counts an event that does not fit (the last slot is kept for the exception event).
func (s *Span) full() bool {
	if len(s.events) >= eventLimit-1 {
		s.dropped++
		return true
	}
	return false
}

func (s *Span) addEvent(e event) int {
	if s.full() {
		return -1
	}
	s.events = append(s.events, e)
	return len(s.events) - 1
}

// Arg records a parameter's value at entry.
func (s *Span) Arg(name string, v any) {
	if s == nil || !s.rec {
		return
	}
	s.addValue(name, true, v)
}

// ArgRedacted records a parameter whose name looks secret; its value is never read.
func (s *Span) ArgRedacted(name string) {
	if s == nil || !s.rec {
		return
	}
	s.attrs = append(s.attrs, attr{key: name, arg: true, str: "[REDACTED]"})
}

// Var records that a variable got a value.
func (s *Span) Var(name string, line int, v any) {
	if s == nil || !s.rec || s.full() {
		return
	}
	s.events = append(s.events, event{name: "cti.var", time: now(), attrs: []attr{{key: "cti.var.name", str: name}, {key: "cti.var.value", str: preview(v)}, {key: "code.line.number", num: line, isNum: true}}})
}

// VarRedacted records an assignment to a variable whose name looks secret.
func (s *Span) VarRedacted(name string, line int) {
	if s == nil || !s.rec || s.full() {
		return
	}
	s.events = append(s.events, event{name: "cti.var", time: now(), attrs: []attr{{key: "cti.var.name", str: name}, {key: "cti.var.value", str: "[REDACTED]"}, {key: "code.line.number", num: line, isNum: true}}})
}

// Branch records a taken branch.
func (s *Span) Branch(kind string, line int) {
	if s == nil || !s.rec || s.full() {
		return
	}
	s.events = append(s.events, event{name: "cti.branch", time: now(), attrs: []attr{{key: "cti.branch.kind", str: kind}, {key: "code.line.number", num: line, isNum: true}}})
}

// Iter counts one iteration of loop id (unique within the function): one event per loop
// per call, its count filled in when the span ends. Constant memory however long the loop.
func (s *Span) Iter(id int, kind string, line int) {
	if s == nil || !s.rec {
		return
	}
	for i := range s.loops {
		if s.loops[i].id == id {
			if idx := s.loops[i].idx; idx >= 0 {
				s.events[idx].loopIters++
			}
			return
		}
	}
	idx := s.addEvent(event{name: "cti.loop", time: now(), isLoop: true, loopIters: 1, attrs: []attr{{key: "cti.loop.kind", str: kind}, {key: "code.line.number", num: line, isNum: true}}})
	s.loops = append(s.loops, loopRef{id: id, idx: idx})
}

// Return records the function's results (all but a trailing error) when it returns normally.
// Several results are shown comma-separated.
func (s *Span) Return(vs ...any) {
	if s == nil || !s.rec {
		return
	}
	if len(vs) == 1 {
		s.addValue("cti.return", false, vs[0])
		return
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = preview(v)
	}
	s.attrs = append(s.attrs, attr{key: "cti.return", str: truncate(strings.Join(parts, ", "), valueLimit)})
}

// Error records the trailing error result: a non-nil error makes the span ERROR and adds an
// exception event (calling its Error method, the one place the runtime runs program code).
func (s *Span) Error(err error) {
	if s == nil || err == nil {
		return
	}
	s.status = typeName(err) + ": " + errorText(err)
	s.excType, s.excMsg = typeName(err), errorText(err)
}

// Returned tells, in the deferred call, whether the function is returning normally: it reached
// a return statement (returned) or a deferred recover() of its own stopped a panic. Otherwise
// it is panicking or its goroutine exits (runtime.Goexit); the frames on the stack tell which,
// never recover(), so a panic propagates untouched.
func (s *Span) Returned(returned bool) bool {
	if s == nil {
		return false
	}
	if !returned && !s.checked {
		s.checked = true
		switch unwinding() {
		case "panic":
			s.panicking = true
			s.status = "panic: panic (value not observed by instrumented code)"
			s.excType, s.excMsg = "panic", "panic (value not observed by instrumented code)"
			s.excStack = stack()
		case "goexit":
			s.goexit = true
		}
	}
	return !s.panicking && !s.goexit
}

// End finishes the span (see Returned for the argument).
func (s *Span) End(returned bool) {
	if s == nil {
		return
	}
	s.Returned(returned)
	s.end = now()
	if s.end < s.start { // the anchor moved back with the wall clock meanwhile
		s.end = s.start
	}
	g := s.g
	parent, main, panicking, goexit, site := s.parent, s.site.Main, s.panicking, s.goexit, s.site
	// A compare-and-swap costs what a store does; it fails when an exit has frozen this
	// goroutine (exportOthers) and already exported this call as unfinished.
	if !g.top.CompareAndSwap(s, parent) {
		return
	}
	if panicking {
		g.panicked = append(g.panicked, s)
	} else {
		finishPending(g)
		export(s)
		if g.readers.Load() == 0 {
			release(s)
		}
	}
	if parent == nil {
		finishPending(g) // before forget: settle waits for the goroutines still in the map
		forget(g)
		// A goroutine's outermost call ended: flush (there is no exit hook to rely on, and a
		// panic here is likely about to kill the process).
		if panicking && !main {
			if panicKills(site.Name) {
				exportOthers()
			}
			flushFinal()
		} else if !main {
			flushIfDue(true)
		}
	}
	if main {
		settle()
		if !goexit { // after runtime.Goexit in main.main the other goroutines go on
			exportOthers()
		}
		flushFinal()
	}
}

// finishPending exports the spans that ended by a panic whose value nobody showed us.
func finishPending(g *gstate) {
	for _, p := range g.panicked {
		export(p)
		if g.readers.Load() == 0 {
			release(p)
		}
	}
	clear(g.panicked)
	g.panicked = g.panicked[:0]
}

// Recovered wraps recover() in instrumented code: it gives the spans the panic ended their value.
func Recovered(v any) any {
	if v == nil || !enabled() {
		return v
	}
	if st := self(goid()); st != nil {
		for _, p := range st.panicked {
			p.excType, p.excMsg = panicText(v)
			p.status = p.excType + ": " + p.excMsg
			export(p)
			if st.readers.Load() == 0 {
				release(p)
			}
		}
		clear(st.panicked)
		st.panicked = st.panicked[:0]
	}
	return v
}

// unwinding tells why a deferred call runs when the function did not return: "panic",
// "goexit", or "" (a deferred recover() stopped a panic and the function returns normally).
func unwinding() string {
	var pcs [64]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		switch f.Function {
		case "runtime.gopanic":
			return "panic"
		case "runtime.Goexit":
			return "goexit"
		}
		if !more {
			return ""
		}
	}
}

func stack() string {
	buf := make([]byte, 4096)
	return string(buf[:runtime.Stack(buf, false)])
}
