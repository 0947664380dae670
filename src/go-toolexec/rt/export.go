package rt

import (
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Configuration, read once from the environment at the first instrumented call.
var (
	configOnce   sync.Once
	on           bool
	eventLimit   = 128
	valueLimit   = 120
	sampler      = "parentbased_always_on"
	sampleRatio  = 1.0
	resource     []byte // the encoded "resource" object
	resourceList [][2]string
)

func enabled() bool {
	configOnce.Do(configure)
	return on
}

func configure() {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return
	}
	if n, err := strconv.Atoi(os.Getenv("OTEL_SPAN_EVENT_COUNT_LIMIT")); err == nil && n > 0 {
		eventLimit = n
	}
	if n, err := strconv.Atoi(os.Getenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")); err == nil && n > 0 {
		valueLimit = n
	}
	if v := os.Getenv("OTEL_TRACES_SAMPLER"); v != "" {
		sampler = v
	}
	if f, err := strconv.ParseFloat(os.Getenv("OTEL_TRACES_SAMPLER_ARG"), 64); err == nil && f >= 0 && f <= 1 {
		sampleRatio = f
	}
	if sampler == "always_off" || sampler == "parentbased_always_off" {
		return
	}
	res := [][2]string{{"service.name", "unknown_service:" + filepath.Base(os.Args[0])}}
	for _, kv := range strings.Split(os.Getenv("OTEL_RESOURCE_ATTRIBUTES"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) != "" {
			res = setKV(res, strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	if v := os.Getenv("OTEL_SERVICE_NAME"); v != "" {
		res = setKV(res, "service.name", v)
	}
	res = setKV(res, "telemetry.sdk.name", "code-telemetry-injector")
	res = setKV(res, "telemetry.sdk.language", "go")
	b := []byte{'{'}
	for i, kv := range res {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, kv[0])
		b = append(b, ':')
		b = appendString(b, kv[1])
	}
	resource = append(b, '}')
	resourceList = res
	on = openExporters()
	if on {
		findGoidOffset()
	}
}

func setKV(list [][2]string, k, v string) [][2]string {
	for i := range list {
		if list[i][0] == k {
			list[i][1] = v
			return list
		}
	}
	return append(list, [2]string{k, v})
}

func sampleRoot(id [16]byte) bool {
	if sampler != "traceidratio" && sampler != "parentbased_traceidratio" {
		return true
	}
	// The lower 8 bytes of the trace id as a uniform number, as OpenTelemetry's ratio sampler does.
	var x uint64
	for _, c := range id[8:] {
		x = x<<8 | uint64(c)
	}
	return float64(x>>1) < sampleRatio*float64(uint64(1)<<63)
}

func newTraceID() (id [16]byte) {
	for {
		a, b := rand.Uint64(), rand.Uint64()
		for i := 0; i < 8; i++ {
			id[i], id[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
		}
		if a|b != 0 {
			return
		}
	}
}

func newSpanID() (id [8]byte) {
	for {
		a := rand.Uint64()
		for i := 0; i < 8; i++ {
			id[i] = byte(a >> (8 * i))
		}
		if a != 0 {
			return
		}
	}
}

// Finished spans wait (encoded) until a flush: when a goroutine's outermost call ends, when
// 64 KiB are waiting, a second after the first of them ended (a timer, so that a program killed
// by a signal loses at most that second), when main.main ends, and before os.Exit / log.Fatal.
var (
	mu        sync.Mutex
	pending   []byte
	lastFlush int64
	timed     bool // the one-second timer is armed
)

func export(s *Span) {
	if !s.rec {
		return
	}
	mu.Lock()
	if tracesFile != nil {
		pending = appendSpanJSONL(pending, s)
		if len(pending) >= 64<<10 { // bounded memory however long the outermost call runs
			flushLocked()
		}
	}
	if otlp != nil {
		otlpAdd(s)
		if len(otlpSpans) >= 64<<10 {
			otlpFlushLocked()
		}
	}
	if !timed {
		// No goroutine waits meanwhile: AfterFunc runs its function in one when it fires.
		timed = true
		time.AfterFunc(time.Second, func() {
			mu.Lock()
			timed = false
			flushLocked()
			mu.Unlock()
		})
	}
	mu.Unlock()
}

func flushIfDue(force bool) {
	mu.Lock()
	defer mu.Unlock()
	t := now()
	if force || len(pending) >= 64<<10 || t-lastFlush > int64(time.Second) {
		flushLocked()
		lastFlush = t
	}
}

func flushLocked() {
	if tracesFile != nil && len(pending) > 0 {
		tracesFile.Write(pending) // one write per batch: O_APPEND keeps lines of processes apart
		pending = pending[:0]
	}
	if otlp != nil {
		otlpFlushLocked()
	}
}

// flushFinal writes everything now and, over OTLP, waits (3 s at most) until it is sent: the
// process is about to end.
func flushFinal() {
	mu.Lock()
	if tracesFile != nil && len(pending) > 0 {
		tracesFile.Write(pending)
		pending = pending[:0]
	}
	mu.Unlock()
	if otlp != nil {
		otlpFinal()
	}
}

// Flush writes every finished span now.
func Flush() {
	if !enabled() {
		return
	}
	mu.Lock()
	flushLocked()
	mu.Unlock()
}

// ExitCode wraps the argument of os.Exit in instrumented code: the calls still running on this
// goroutine are exported as unfinished, everything is flushed, and the code is given back.
func ExitCode(code int) int {
	Exiting()
	return code
}

// Exiting runs before log.Fatal* in instrumented code (and in ExitCode): the process is about
// to end without running deferred calls.
func Exiting() {
	if !enabled() {
		return
	}
	if g, ok := goroutines.Load(goid()); ok {
		t := now()
		for s := g.(*gstate).top.Load(); s != nil; s = s.parent {
			s.end = t
			s.attrs = append(s.attrs, attr{key: "cti.unfinished", isTrue: true})
			export(s)
			live.Add(-1)
		}
		g.(*gstate).top.Store(nil)
	}
	settle()
	flushFinal()
}

var tracesFile *os.File

func openExporters() bool {
	if p := os.Getenv("CTI_TRACES_FILE"); p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			tracesFile = f
		} else {
			os.Stderr.WriteString("cti: cannot open CTI_TRACES_FILE: " + err.Error() + "\n")
		}
	}
	return openOTLP() || tracesFile != nil
}

func appendSpanJSONL(b []byte, s *Span) []byte {
	b = appendSpan(b, s, true)
	return append(b, '\n')
}

// appendSpan encodes one span in the JSONL shape of docs/telemetry.md.
func appendSpan(b []byte, s *Span, withResource bool) []byte {
	b = append(b, `{"trace_id":"`...)
	b = appendHex(b, s.traceID[:])
	b = append(b, `","span_id":"`...)
	b = appendHex(b, s.spanID[:])
	b = append(b, `","parent_span_id":`...)
	if s.hasParent {
		b = append(b, '"')
		b = appendHex(b, s.parentID[:])
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"name":`...)
	b = appendString(b, s.site.Name)
	b = append(b, `,"start_time_unix_nano":"`...)
	b = strconv.AppendInt(b, s.start, 10)
	b = append(b, `","end_time_unix_nano":"`...)
	b = strconv.AppendInt(b, s.end, 10)
	b = append(b, `","attributes":{"code.function.name":`...)
	b = appendString(b, s.site.Name)
	b = append(b, `,"code.file.path":`...)
	b = appendString(b, s.site.File)
	b = append(b, `,"code.line.number":`...)
	b = strconv.AppendInt(b, int64(s.site.Line), 10)
	b = append(b, `,"cti.lang":"go"`...)
	for _, a := range s.attrs {
		b = append(b, ',')
		b = appendAttr(b, a)
	}
	if s.goexit {
		b = append(b, `,"cti.goexit":true`...)
	}
	b = append(b, `},"events":[`...)
	evs := s.events
	for i, e := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEvent(b, e)
	}
	if ex, ok := s.exceptionEvent(); ok {
		if len(evs) > 0 {
			b = append(b, ',')
		}
		b = appendEvent(b, ex)
	}
	b = append(b, `],"dropped_events_count":`...)
	b = strconv.AppendInt(b, int64(s.dropped), 10)
	if s.status == "" {
		b = append(b, `,"status":{"code":"OK"}`...)
	} else {
		b = append(b, `,"status":{"code":"ERROR","message":`...)
		b = appendString(b, s.status)
		b = append(b, '}')
	}
	if withResource {
		b = append(b, `,"resource":`...)
		b = append(b, resource...)
	}
	return append(b, '}')
}

// exceptionEvent is the span's exception event, made when it is exported.
func (s *Span) exceptionEvent() (event, bool) {
	if s.excType == "" {
		return event{}, false
	}
	ex := event{name: "exception", time: s.end, attrs: []attr{{key: "exception.type", str: s.excType}, {key: "exception.message", str: s.excMsg}}}
	if s.excStack != "" {
		ex.attrs = append(ex.attrs, attr{key: "exception.stacktrace", str: s.excStack})
	}
	return ex, true
}

func appendEvent(b []byte, e event) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, e.name)
	b = append(b, `,"time_unix_nano":"`...)
	b = strconv.AppendInt(b, e.time, 10)
	b = append(b, `","attributes":{`...)
	for i, a := range e.attrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAttr(b, a)
	}
	if e.isLoop {
		b = append(b, `,"cti.loop.iterations":`...)
		b = strconv.AppendInt(b, int64(e.loopIters), 10)
	}
	return append(b, "}}"...)
}

func appendAttr(b []byte, a attr) []byte {
	if a.arg { // a Go identifier: nothing to escape
		b = append(b, `"cti.arg.`...)
		b = append(b, a.key...)
		b = append(b, '"')
	} else {
		b = appendString(b, a.key)
	}
	b = append(b, ':')
	if a.isNum {
		return strconv.AppendInt(b, int64(a.num), 10)
	}
	if a.isTrue {
		return append(b, "true"...)
	}
	return appendString(b, a.str)
}

// appendString writes s as a JSON string (invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is copied as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError && r != 0x2028 && r != 0x2029 {
				i += size
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == utf8.RuneError:
			b = utf8.AppendRune(b, r)
		default:
			b = append(b, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendHex(b []byte, id []byte) []byte {
	const hexDigits = "0123456789abcdef"
	for _, c := range id {
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}
