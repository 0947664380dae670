package rt

import (
	"encoding/binary"
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
	okTail       []byte // the end of a JSONL line without dropped events and with status OK
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
	okTail = append(append([]byte(`],"dropped_events_count":0,"status":{"code":"OK"},"resource":`), resource...), "}\n"...)
	reanchor(true)
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

// sampleRoot decides for a new trace; x is the lower 8 bytes of its id read as a big-endian
// number (uniform), as OpenTelemetry's ratio sampler does.
func sampleRoot(x uint64) bool {
	if sampler != "traceidratio" && sampler != "parentbased_traceidratio" {
		return true
	}
	return float64(x>>1) < sampleRatio*float64(uint64(1)<<63)
}

// newTraceID is a random non-zero trace id in hex, and its lower 8 bytes as a big-endian number.
func newTraceID() (id [32]byte, low uint64) {
	for {
		a, b := rand.Uint64(), rand.Uint64()
		if a|b != 0 {
			putHex(id[:16], a)
			putHex(id[16:], b)
			return id, b
		}
	}
}

// newSpanID is a random non-zero span id in hex. Each goroutine draws from its own generator,
// seeded from math/rand when its state is made: SplitMix64 (a counter with a large odd step,
// its bits mixed by two multiplications), so no lock, no shared state, no repeat within it.
func (g *gstate) newSpanID() (id [16]byte) {
	var z uint64
	for z == 0 {
		g.rng += 0x9e3779b97f4a7c15
		z = g.rng
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
	}
	putHex(id[:], z)
	return id
}

// putHex writes x as 16 hex digits, most significant first: its nibbles are spread one a byte,
// then each becomes '0'+n or 'a'+n-10, eight at a time.
func putHex(dst []byte, x uint64) {
	binary.BigEndian.PutUint64(dst[:8], hexDigits8(uint32(x>>32)))
	binary.BigEndian.PutUint64(dst[8:16], hexDigits8(uint32(x)))
}

func hexDigits8(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f // byte k holds nibble k
	letters := (x + 0x0606060606060606) >> 4 & 0x0101010101010101
	return x + 0x3030303030303030 + letters*('a'-'0'-10)
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
	reanchor(false)
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

// ExitCode wraps the argument of os.Exit in instrumented code: the calls still running are
// exported as unfinished, everything is flushed, and the code is given back.
func ExitCode(code int) int {
	Exiting()
	return code
}

// Exiting runs before log.Fatal* in instrumented code (and in ExitCode): the process is about
// to end without running deferred calls. The calls of this goroutine are exported whole, those
// of the others as exportOthers can.
func Exiting() {
	if !enabled() {
		return
	}
	if g := self(goid()); g != nil {
		t := now()
		// Frozen, not emptied: a call made after this (log.Fatal formatting a value) records nothing.
		for s := freeze(g); s != nil; s = s.parent {
			s.end = t
			s.attrs = append(s.attrs, attr{key: "cti.unfinished", isTrue: true})
			export(s)
		}
	}
	settle()
	exportOthers()
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

// siteEnc is what a site's spans have in common, encoded once.
type siteEnc struct {
	name  []byte // ,"name":…,"start_time_unix_nano":"
	attrs []byte // ","attributes":{"code.function.name":…,"cti.lang":"go"
}

func (site *Site) encoded() *siteEnc {
	if e := site.enc.Load(); e != nil {
		return e
	}
	e := &siteEnc{}
	e.name = append(appendString(append(e.name, `,"name":`...), site.Name), `,"start_time_unix_nano":"`...)
	b := append(e.attrs, `","attributes":{"code.function.name":`...)
	b = appendString(b, site.Name)
	b = append(b, `,"code.file.path":`...)
	b = appendString(b, site.File)
	b = append(b, `,"code.line.number":`...)
	b = strconv.AppendInt(b, int64(site.Line), 10)
	e.attrs = append(b, `,"cti.lang":"go"`...)
	site.enc.Store(e)
	return e
}

// appendSpanJSONL encodes one span in the JSONL shape of docs/telemetry.md, newline included.
func appendSpanJSONL(b []byte, s *Span) []byte {
	enc := s.site.encoded()
	b = append(b, `{"trace_id":"`...)
	b = append(b, s.traceID[:]...)
	b = append(b, `","span_id":"`...)
	b = append(b, s.spanID[:]...)
	if s.hasParent {
		b = append(b, `","parent_span_id":"`...)
		b = append(b, s.parentID[:]...)
		b = append(b, '"')
	} else {
		b = append(b, `","parent_span_id":null`...)
	}
	b = append(b, enc.name...)
	b = appendTimes(b, s.start, s.end, `","end_time_unix_nano":"`)
	b = append(b, enc.attrs...)
	for i := range s.attrs {
		b = append(b, ',')
		b = appendAttr(b, &s.attrs[i])
	}
	if s.goexit {
		b = append(b, `,"cti.goexit":true`...)
	}
	b = append(b, `},"events":[`...)
	evs := s.events
	for i := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEvent(b, &evs[i])
	}
	ex, hasEx := s.exceptionEvent()
	if hasEx {
		if len(evs) > 0 {
			b = append(b, ',')
		}
		b = appendEvent(b, &ex)
	}
	if s.dropped == 0 && s.status == "" {
		return append(b, okTail...)
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
	b = append(b, `,"resource":`...)
	b = append(b, resource...)
	return append(b, "}\n"...)
}

// appendTimes writes start, sep, end (Unix nanoseconds). Times from 2001 to 2286 have 19 digits,
// written without strconv; both usually have the same 10 leading digits (the same second),
// which are then copied.
func appendTimes(b []byte, start, end int64, sep string) []byte {
	const e9, e18 = 1_000_000_000, 1_000_000_000_000_000_000
	if start < e18 || end < e18 {
		b = strconv.AppendInt(b, start, 10)
		b = append(b, sep...)
		return strconv.AppendInt(b, end, 10)
	}
	n := len(b)
	b = append(b, "0000000000000000000"...)
	b = append(b, sep...)
	b = append(b, "0000000000000000000"...)
	d, m := b[n:n+19], b[len(b)-19:]
	d[0] = byte('0' + start/e18)
	put9(d[1:10], uint32(start/e9%e9))
	put9(d[10:], uint32(start%e9))
	if start/e9 == end/e9 {
		copy(m, d[:10])
	} else {
		m[0] = byte('0' + end/e18)
		put9(m[1:10], uint32(end/e9%e9))
	}
	put9(m[10:], uint32(end%e9))
	return b
}

// put9 writes x < 1e9 as exactly 9 digits.
func put9(d []byte, x uint32) {
	_ = d[8]
	d[0] = byte('0' + x/1e8)
	put8(d[1:], x%1e8)
}

// put8 writes x < 1e8 as exactly 8 digits; its four pairs are independent of each other (a
// chain of divisions by 100 would wait for each one).
func put8(d []byte, x uint32) {
	_ = d[7]
	hi, lo := x/10000, x%10000
	a, b, c, e := hi/100, hi%100, lo/100, lo%100
	d[0], d[1] = digitPairs[2*a], digitPairs[2*a+1]
	d[2], d[3] = digitPairs[2*b], digitPairs[2*b+1]
	d[4], d[5] = digitPairs[2*c], digitPairs[2*c+1]
	d[6], d[7] = digitPairs[2*e], digitPairs[2*e+1]
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

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

func appendEvent(b []byte, e *event) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, e.name)
	b = append(b, `,"time_unix_nano":"`...)
	b = strconv.AppendInt(b, e.time, 10)
	b = append(b, `","attributes":{`...)
	for i := range e.attrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAttr(b, &e.attrs[i])
	}
	if e.isLoop {
		b = append(b, `,"cti.loop.iterations":`...)
		b = strconv.AppendInt(b, int64(e.loopIters), 10)
	}
	return append(b, "}}"...)
}

func appendAttr(b []byte, a *attr) []byte {
	if a.arg { // a Go identifier: nothing to escape
		b = append(b, `"cti.arg.`...)
		b = append(b, a.key...)
		b = append(b, '"')
	} else { // the runtime's own keys: nothing to escape either
		b = append(b, '"')
		b = append(b, a.key...)
		b = append(b, '"')
	}
	b = append(b, ':')
	if a.isNum {
		return strconv.AppendInt(b, int64(a.num), 10)
	}
	if a.isTrue {
		return append(b, "true"...)
	}
	return appendText(b, a)
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

// appendInt is strconv.AppendInt(b, v, 10), eight digits at a time (put8).
func appendInt(b []byte, v int64) []byte {
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = -u
	}
	var d [24]byte
	i := len(d)
	for u >= 1e8 {
		i -= 8
		put8(d[i:], uint32(u%1e8))
		u /= 1e8
	}
	x := uint32(u)
	for x >= 100 {
		q := x % 100
		x /= 100
		i -= 2
		d[i], d[i+1] = digitPairs[2*q], digitPairs[2*q+1]
	}
	if x >= 10 {
		i -= 2
		d[i], d[i+1] = digitPairs[2*x], digitPairs[2*x+1]
	} else {
		i--
		d[i] = byte('0' + x)
	}
	return append(b, d[i:]...)
}
