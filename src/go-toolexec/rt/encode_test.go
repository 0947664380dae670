package rt

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
)

func TestAppendTimes(t *testing.T) {
	cases := [][2]int64{{1795721358894943717, 1795721358894944118}, {1795721358999999999, 1795721359000000001}, {999999999999999999, 1000000000000000001}, {0, 5}, {1000000000000000000, 9223372036854775807}, {1795721358000000000, 1795721358000000000}, {1795721358099999999, 1795721358100000000}, {9223372036854775807, 9223372036854775807}}
	for _, c := range cases {
		got := string(appendTimes([]byte("x"), c[0], c[1], "|"))
		want := "x" + strconv.FormatInt(c[0], 10) + "|" + strconv.FormatInt(c[1], 10)
		if got != want {
			t.Errorf("appendTimes(%d, %d) = %s, want %s", c[0], c[1], got, want)
		}
	}
}

func TestAppendTextQuoted(t *testing.T) {
	defer func(l int) { valueLimit = l }(valueLimit)
	for _, limit := range []int{1, 2, 5, 120} {
		valueLimit = limit
		for _, s := range []string{"", "a", "héllo\\n\"x\"", "\xff\xfe abc", string(make([]byte, 600)), "日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語"} {
			var sp Span
			sp.addValue("k", true, s)
			got := string(appendText(nil, &sp.attrs[0]))
			want := string(appendString(nil, preview(s)))
			if got != want {
				t.Errorf("limit %d %q: %s, want %s", limit, s, got, want)
			}
		}
		for _, n := range []int{0, -1, 7, 1 << 40, -1 << 62} {
			var sp Span
			sp.addValue("k", true, n)
			if got, want := string(appendText(nil, &sp.attrs[0])), string(appendString(nil, preview(n))); got != want {
				t.Errorf("%d: %s, want %s", n, got, want)
			}
		}
	}
}

func TestHexAndInt(t *testing.T) {
	for _, x := range []uint64{0, 1, 0xfedcba9876543210, 0x0123456789abcdef, ^uint64(0), 0xa0b1c2d3e4f50617} {
		var d [16]byte
		putHex(d[:], x)
		if got, want := string(d[:]), fmt.Sprintf("%016x", x); got != want {
			t.Errorf("putHex(%#x) = %s, want %s", x, got, want)
		}
	}
	for _, v := range []int64{0, 5, 9, 10, 99, 100, 101, 12345, 99999999, 100000000, 100000001, 1234567890123, 10000000000000000, -1, -99, -100, 1 << 62, -1 << 63, 1<<63 - 1} {
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Errorf("appendInt(%d) = %s, want %s", v, got, want)
		}
	}
}

func TestSpanLine(t *testing.T) {
	enabled()
	var trace [32]byte
	var span, parent [16]byte
	copy(trace[:], "0123456789abcdef0123456789abcdef")
	copy(span[:], "fedcba9876543210")
	copy(parent[:], "00112233445566ff")
	for _, c := range []struct {
		hasParent  bool
		start, end int64
	}{{true, 1795721358894943717, 1795721358894944118}, {false, 1795721358999999999, 1795721359000000001}, {true, 5, 7}, {false, 999999999999999999, 1000000000000000000}} {
		s := &Span{site: &benchSites[0], traceID: trace, spanID: span, parentID: parent, hasParent: c.hasParent, start: c.start, end: c.end}
		s.attrs = s.attrBuf[:0]
		s.addValue("a", true, 42)
		line := appendSpanJSONL([]byte("x"), s)
		if line[0] != 'x' || line[len(line)-1] != '\n' {
			t.Fatalf("bad framing: %q", line)
		}
		var got map[string]any
		if err := json.Unmarshal(line[1:], &got); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		want := map[string]any{"trace_id": string(trace[:]), "span_id": string(span[:]), "parent_span_id": nil, "name": "main.leaf",
			"start_time_unix_nano": strconv.FormatInt(c.start, 10), "end_time_unix_nano": strconv.FormatInt(c.end, 10)}
		if c.hasParent {
			want["parent_span_id"] = string(parent[:])
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v in %s", k, got[k], v, line)
			}
		}
		attrs := got["attributes"].(map[string]any)
		if attrs["cti.arg.a"] != "42" || attrs["code.line.number"] != 13.0 || attrs["cti.lang"] != "go" {
			t.Errorf("attributes %v", attrs)
		}
	}
}
