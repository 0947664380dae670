package rt

import (
	"runtime"
	"unsafe"
)

// goidOffset is where the runtime keeps the goroutine id inside its g struct (it moves between
// Go versions, so it is found at start-up by comparing with ids read from stack traces), or -1.
var goidOffset = -1

// goid is the current goroutine's id. Parsing runtime.Stack walks the whole stack (quadratic
// in deep recursion), so the id is read from the g struct when its offset is known.
func goid() uint64 {
	if goidOffset >= 0 {
		return *(*uint64)(unsafe.Add(getg(), goidOffset))
	}
	return goidFromStack()
}

func goidFromStack() uint64 {
	var buf [32]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// findGoidOffset looks for the 8-byte word of g that holds the goroutine id, in two short-lived
// goroutines (ids > 1, unlike a flag or a small counter) that must agree.
func findGoidOffset() {
	if getg() == nil {
		return
	}
	candidates := func() []int {
		ch := make(chan []int)
		go func() {
			g, id := getg(), goidFromStack()
			var offs []int
			for off := 0; off < 256; off += 8 { // well inside g, which is larger
				if *(*uint64)(unsafe.Add(g, off)) == id {
					offs = append(offs, off)
				}
			}
			ch <- offs
		}()
		return <-ch
	}
	a, b := candidates(), candidates()
	for _, x := range a {
		for _, y := range b {
			if x == y {
				goidOffset = x
				return
			}
		}
	}
}
