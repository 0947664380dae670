package rt

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// preview is the one-line, bounded text of a value (docs/telemetry.md, "Value previews").
// It reads values through reflection only: no String, Format or other method of the program
// runs. The exception is error values, shown as "<type>: <Error()>" like the contract's errors.
func preview(v any) string {
	switch x := v.(type) { // the common cases without reflection
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return truncate(strconv.Quote(x), valueLimit)
	case nil:
		return "nil"
	}
	var b strings.Builder
	writeValue(&b, reflect.ValueOf(v), 0)
	return truncate(b.String(), valueLimit)
}

func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	n := 0
	for i := range s {
		if n == limit-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

var errorType = reflect.TypeOf((*error)(nil)).Elem()

const maxItems = 10

func writeValue(b *strings.Builder, v reflect.Value, depth int) {
	if b.Len() > 4*valueLimit { // enough to fill the preview: stop walking
		return
	}
	if !v.IsValid() {
		b.WriteString("nil")
		return
	}
	if v.CanInterface() && v.Type().Implements(errorType) && !(v.Kind() == reflect.Pointer && v.IsNil()) && !(v.Kind() == reflect.Interface && v.IsNil()) {
		t, m := panicText(v.Interface())
		b.WriteString(t + ": " + m)
		return
	}
	switch v.Kind() {
	case reflect.String:
		b.WriteString(strconv.Quote(v.String()))
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits()))
	case reflect.Complex64, reflect.Complex128:
		b.WriteString(strconv.FormatComplex(v.Complex(), 'g', -1, v.Type().Bits()))
	case reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		writeValue(b, v.Elem(), depth)
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		if e := v.Elem(); e.Kind() == reflect.Struct || e.Kind() == reflect.Array || e.Kind() == reflect.Slice || e.Kind() == reflect.Map {
			b.WriteByte('&')
			writeValue(b, e, depth)
			return
		}
		b.WriteString("0x" + strconv.FormatUint(uint64(v.Pointer()), 16))
	case reflect.Struct:
		b.WriteString(v.Type().String())
		if depth > 1 {
			b.WriteString("{…}")
			return
		}
		b.WriteByte('{')
		for i := 0; i < v.NumField(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == maxItems {
				b.WriteString("…")
				break
			}
			b.WriteString(v.Type().Field(i).Name + ": ")
			writeValue(b, v.Field(i), depth+1)
		}
		b.WriteByte('}')
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("nil")
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Kind() == reflect.Slice {
			n := v.Len()
			if n > valueLimit {
				n = valueLimit
			}
			b.WriteString("[]byte(" + strconv.Quote(string(v.Slice(0, n).Bytes())) + ")")
			return
		}
		if depth > 1 {
			b.WriteString("[…]")
			return
		}
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == maxItems {
				b.WriteString("…")
				break
			}
			writeValue(b, v.Index(i), depth+1)
		}
		b.WriteByte(']')
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		if depth > 1 {
			b.WriteString("map[…]")
			return
		}
		// Sorted like fmt prints maps, when small enough to sort cheaply; else the first 10 met.
		type kv struct{ k, v string }
		var items []kv
		it := v.MapRange()
		for it.Next() {
			if len(items) >= 100 {
				break
			}
			var kb, vb strings.Builder
			writeValue(&kb, it.Key(), depth+1)
			writeValue(&vb, it.Value(), depth+1)
			items = append(items, kv{kb.String(), vb.String()})
		}
		if len(items) < 100 {
			sort.Slice(items, func(i, j int) bool { return items[i].k < items[j].k })
		}
		b.WriteString("map[")
		for i, it := range items {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == maxItems {
				b.WriteString("…")
				break
			}
			b.WriteString(it.k + ": " + it.v)
		}
		b.WriteByte(']')
	case reflect.Func:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString(v.Type().String())
	case reflect.Chan:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString(v.Type().String())
	default:
		b.WriteString(v.Type().String())
	}
}

// panicText is the type and message of a panic value or error.
func panicText(v any) (string, string) {
	if err, ok := v.(error); ok {
		return typeName(v), errorText(err)
	}
	if s, ok := v.(string); ok {
		return "string", s
	}
	return typeName(v), preview(v)
}

func typeName(v any) string { return reflect.TypeOf(v).String() }

// errorText calls Error(); an Error method that panics gives "[unpreviewable]".
func errorText(err error) (msg string) {
	defer func() {
		if recover() != nil {
			msg = "[unpreviewable]"
		}
	}()
	return err.Error()
}

// addValue adds the attribute of a captured value. Values that cannot change (numbers, strings,
// booleans, nil) keep their preview for encoding, so capture costs neither text nor allocation;
// others are previewed now, since the program may change them later.
func (s *Span) addValue(key string, arg bool, v any) {
	n := len(s.attrs)
	if n < cap(s.attrs) {
		s.attrs = s.attrs[:n+1]
		s.attrs[n] = attr{key: key, arg: arg}
	} else {
		s.attrs = append(s.attrs, attr{key: key, arg: arg})
	}
	a := &s.attrs[n]
	switch x := v.(type) {
	case int:
		a.num, a.intText = x, true
	case int64:
		a.num, a.intText = int(x), true
	case int32:
		a.num, a.intText = int(x), true
	case string:
		a.str, a.quoted = x, true
	case bool:
		a.str = "false"
		if x {
			a.str = "true"
		}
	case nil:
		a.str = "nil"
	default:
		a.str = preview(v)
	}
}

// appendText writes the JSON string of a text attribute.
func appendText(b []byte, a *attr) []byte {
	switch {
	case a.intText:
		b = append(b, '"')
		b = appendInt(b, int64(a.num))
		return append(b, '"')
	case a.quoted:
		// Only the start can show: the first valueLimit runes of the string give at least as
		// many quoted ones, so the quoted text is cut after them (a cut rune is past the limit).
		s := a.str
		if max := 4*valueLimit + 8; len(s) > max {
			s = s[:max]
		}
		var tmp [256]byte
		q := strconv.AppendQuote(tmp[:0], s)
		if len(s) < len(a.str) || utf8.RuneCount(q) > valueLimit {
			q = truncateBytes(q, valueLimit)
		}
		return appendString(b, unsafeString(q))
	}
	return appendString(b, a.str)
}

// truncateBytes keeps limit-1 runes of q and adds "…" (q has more than limit runes).
func truncateBytes(q []byte, limit int) []byte {
	n := 0
	for i := range unsafeString(q) {
		if n == limit-1 {
			return append(q[:i], "…"...)
		}
		n++
	}
	return q
}

// unsafeString views b as a string for reading now (b is not changed while it is used).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
