package rt

// OTLP/HTTP JSON export without the net package: linking net (or net/http) would pull
// runtime/cgo, DNS and TLS into programs that do not use them and change how they are linked.
// A plain HTTP/1.1 POST over a socket from the syscall package is all OTLP/HTTP needs. Hosts are
// IP addresses, localhost or names in /etc/hosts (no DNS); https is not supported.

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// version is the package's (telemetry.sdk.version, the OTLP scope's version).
const version = "0.1.0"

type otlpTarget struct {
	addr    syscall.SockaddrInet4
	host    string // for the Host header
	path    string
	headers string // extra header lines, each ending in \r\n
	timeout time.Duration
	queue   int // OTEL_BSP_MAX_QUEUE_SIZE: spans waiting beyond it are dropped
}

var (
	otlp        *otlpTarget
	otlpSpans   []byte // encoded spans, comma-separated, waiting for a POST
	otlpCount   int
	otlpPosting atomic.Bool // a POST is on its way (at most one at a time)
	otlpDropped atomic.Int64
	otlpReason  atomic.Value // string: why the first drop happened
)

// otlpEndpoint reads the endpoint as the Node runtime does (docs/telemetry.md).
func otlpEndpoint() (string, string) {
	if v := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
		return "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", v
	}
	if v := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
		return "OTEL_EXPORTER_OTLP_ENDPOINT", strings.TrimRight(v, "/") + "/v1/traces"
	}
	if v := os.Getenv("RECEIVER_URL"); v != "" {
		v = strings.TrimRight(v, "/")
		if !strings.HasSuffix(v, "/v1/traces") {
			v += "/v1/traces"
		}
		return "RECEIVER_URL", v
	}
	return "", ""
}

// openOTLP configures the exporter; a problem is said once on stderr and turns OTLP off.
func openOTLP() bool {
	name, endpoint := otlpEndpoint()
	if endpoint == "" {
		return false
	}
	t, problem := parseTarget(endpoint)
	if problem != "" {
		os.Stderr.WriteString("cti: " + name + "=" + endpoint + ": " + problem + "; spans are not sent\n")
		return false
	}
	for _, kv := range strings.Split(os.Getenv("OTEL_EXPORTER_OTLP_HEADERS"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) != "" && !strings.ContainsAny(kv, "\r\n") {
			t.headers += strings.TrimSpace(k) + ": " + strings.TrimSpace(v) + "\r\n"
		}
	}
	t.timeout = 10 * time.Second
	if ms, err := strconv.Atoi(os.Getenv("OTEL_EXPORTER_OTLP_TIMEOUT")); err == nil && ms > 0 {
		t.timeout = time.Duration(ms) * time.Millisecond
	}
	t.queue = 2048
	if n, err := strconv.Atoi(os.Getenv("OTEL_BSP_MAX_QUEUE_SIZE")); err == nil && n > 0 {
		t.queue = n
	}
	otlp = t
	return true
}

func parseTarget(endpoint string) (*otlpTarget, string) {
	rest, ok := strings.CutPrefix(endpoint, "http://")
	if !ok {
		if strings.HasPrefix(endpoint, "https://") {
			return nil, "https is not supported by the Go runtime (send to a local collector or cti serve over http)"
		}
		return nil, "not an http:// URL"
	}
	hostport, path, _ := strings.Cut(rest, "/")
	host, portText, hasPort := strings.Cut(hostport, ":")
	port := 80
	if hasPort {
		p, err := strconv.Atoi(portText)
		if err != nil || p <= 0 || p > 65535 {
			return nil, "bad port"
		}
		port = p
	}
	ip, found := resolve(host)
	if !found {
		return nil, "cannot resolve " + strconv.Quote(host) + " without DNS (use an IPv4 address, localhost or an /etc/hosts name)"
	}
	return &otlpTarget{addr: syscall.SockaddrInet4{Port: port, Addr: ip}, host: hostport, path: "/" + path}, ""
}

func resolve(host string) ([4]byte, bool) {
	if ip, ok := parseIPv4(host); ok {
		return ip, true
	}
	if strings.EqualFold(host, "localhost") {
		return [4]byte{127, 0, 0, 1}, true
	}
	data, _ := os.ReadFile("/etc/hosts")
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		if ip, ok := parseIPv4(fields[0]); ok {
			for _, name := range fields[1:] {
				if strings.EqualFold(name, host) {
					return ip, true
				}
			}
		}
	}
	return [4]byte{}, false
}

func parseIPv4(s string) (ip [4]byte, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return ip, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || p == "" {
			return ip, false
		}
		ip[i] = byte(n)
	}
	return ip, true
}

// otlpAdd queues one finished span (mu held); past OTEL_BSP_MAX_QUEUE_SIZE waiting, spans are dropped.
func otlpAdd(s *Span) {
	if otlpCount >= otlp.queue {
		otlpDrop(1, "queue full: receiver too slow")
		return
	}
	if otlpCount > 0 {
		otlpSpans = append(otlpSpans, ',')
	}
	otlpSpans = appendSpanOTLP(otlpSpans, s)
	otlpCount++
}

// otlpFlushLocked hands what is waiting to a goroutine that POSTs it (mu held), unless one is
// already posting: it goes on with what came meanwhile, and ends when nothing waits. A slow
// receiver never blocks the program.
func otlpFlushLocked() {
	if otlpCount == 0 || !otlpPosting.CompareAndSwap(false, true) {
		return
	}
	body, n := otlpTake()
	go func() {
		for {
			if err := otlpPost(body, otlp.timeout); err != "" {
				otlpDrop(n, err)
			}
			mu.Lock()
			if otlpCount == 0 {
				otlpPosting.Store(false)
				mu.Unlock()
				return
			}
			body, n = otlpTake()
			mu.Unlock()
		}
	}()
}

// otlpTake empties the queue into one request body (mu held).
func otlpTake() ([]byte, int) {
	body, n := otlpBody(), otlpCount
	otlpSpans, otlpCount = otlpSpans[:0], 0
	return body, n
}

// otlpFinal sends what is left before the process ends: it waits for a POST on its way, then
// posts the rest from the caller, 3 s at most in all, and says once on stderr what was dropped.
func otlpFinal() {
	deadline := time.Now().Add(min(otlp.timeout, 3*time.Second))
	for otlpPosting.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	body, n := otlpTake()
	mu.Unlock()
	if n > 0 {
		if left := time.Until(deadline); left <= 0 {
			otlpDrop(n, "timed out at exit")
		} else if err := otlpPost(body, left); err != "" {
			otlpDrop(n, err)
		}
	}
	if d := otlpDropped.Swap(0); d > 0 {
		reason, _ := otlpReason.Load().(string)
		os.Stderr.WriteString("cti: dropped " + strconv.FormatInt(d, 10) + " spans: receiver http://" + otlp.host + otlp.path + " (" + reason + ")\n")
	}
}

func otlpDrop(n int, reason string) {
	otlpDropped.Add(int64(n))
	otlpReason.CompareAndSwap(nil, reason)
}

func otlpBody() []byte {
	b := append([]byte(nil), `{"resourceSpans":[{"resource":{"attributes":[`...)
	for i, kv := range resourceList {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKV(b, attr{key: kv[0], str: kv[1]})
	}
	b = append(b, `]},"scopeSpans":[{"scope":{"name":"code-telemetry-injector","version":"`+version+`"},"spans":[`...)
	b = append(b, otlpSpans...)
	return append(b, "]}]}]}"...)
}

// otlpPost sends one request and reads the status line: "" when the receiver took it.
func otlpPost(body []byte, timeout time.Duration) string {
	syscall.ForkLock.RLock() // no fork between the two: the child must not inherit the socket
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return err.Error()
	}
	defer syscall.Close(fd)
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv) // bounds connect too
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	addr := otlp.addr
	if err := syscall.Connect(fd, &addr); err != nil {
		return err.Error()
	}
	head := "POST " + otlp.path + " HTTP/1.1\r\nHost: " + otlp.host + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nConnection: close\r\n" + otlp.headers + "\r\n"
	if err := writeAll(fd, append([]byte(head), body...)); err != nil {
		return err.Error()
	}
	var buf [64]byte
	got := 0
	for got < len("HTTP/1.1 200") {
		n, err := syscall.Read(fd, buf[got:])
		if err != nil {
			return err.Error()
		}
		if n <= 0 {
			return "connection closed before a response"
		}
		got += n
	}
	status := string(buf[9:12])
	if status[0] != '2' {
		return "HTTP " + status
	}
	return ""
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// appendSpanOTLP encodes one span as an OTLP/JSON Span (ids in hex, times as strings).
func appendSpanOTLP(b []byte, s *Span) []byte {
	b = append(b, `{"traceId":"`...)
	b = append(b, s.traceID[:]...)
	b = append(b, `","spanId":"`...)
	b = append(b, s.spanID[:]...)
	if s.hasParent {
		b = append(b, `","parentSpanId":"`...)
		b = append(b, s.parentID[:]...)
	}
	b = append(b, `","name":`...)
	b = appendString(b, s.site.Name)
	b = append(b, `,"kind":1,"startTimeUnixNano":"`...)
	b = appendTimes(b, s.start, s.end, `","endTimeUnixNano":"`)
	b = append(b, `","attributes":[`...)
	b = appendKV(b, attr{key: "code.function.name", str: s.site.Name})
	b = append(b, ',')
	b = appendKV(b, attr{key: "code.file.path", str: s.site.File})
	b = append(b, ',')
	b = appendKV(b, attr{key: "code.line.number", num: s.site.Line, isNum: true})
	b = append(b, ',')
	b = appendKV(b, attr{key: "cti.lang", str: "go"})
	for _, a := range s.attrs {
		b = append(b, ',')
		b = appendKV(b, a)
	}
	if s.goexit {
		b = append(b, ',')
		b = appendKV(b, attr{key: "cti.goexit", isTrue: true})
	}
	b = append(b, `],"events":[`...)
	for i, e := range s.events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEventOTLP(b, e)
	}
	if ex, ok := s.exceptionEvent(); ok {
		if len(s.events) > 0 {
			b = append(b, ',')
		}
		b = appendEventOTLP(b, ex)
	}
	b = append(b, `],"droppedEventsCount":`...)
	b = strconv.AppendInt(b, int64(s.dropped), 10)
	if s.status == "" {
		b = append(b, `,"status":{"code":1}`...)
	} else {
		b = append(b, `,"status":{"code":2,"message":`...)
		b = appendString(b, s.status)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendEventOTLP(b []byte, e event) []byte {
	b = append(b, `{"timeUnixNano":"`...)
	b = strconv.AppendInt(b, e.time, 10)
	b = append(b, `","name":`...)
	b = appendString(b, e.name)
	b = append(b, `,"attributes":[`...)
	for i, a := range e.attrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKV(b, a)
	}
	if e.isLoop {
		b = append(b, ',')
		b = appendKV(b, attr{key: "cti.loop.iterations", num: e.loopIters, isNum: true})
	}
	return append(b, "]}"...)
}

// appendKV writes an OTLP KeyValue.
func appendKV(b []byte, a attr) []byte {
	b = append(b, `{"key":`...)
	if a.arg {
		b = append(b, `"cti.arg.`...)
		b = append(b, a.key...)
		b = append(b, '"')
	} else { // the runtime's own keys: nothing to escape either
		b = append(b, '"')
		b = append(b, a.key...)
		b = append(b, '"')
	}
	switch {
	case a.isNum:
		b = append(b, `,"value":{"intValue":"`...)
		b = strconv.AppendInt(b, int64(a.num), 10)
		return append(b, `"}}`...)
	case a.isTrue:
		return append(b, `,"value":{"boolValue":true}}`...)
	}
	b = append(b, `,"value":{"stringValue":`...)
	b = appendText(b, &a)
	return append(b, "}}"...)
}
