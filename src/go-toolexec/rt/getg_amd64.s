#include "textflag.h"

// func getg() unsafe.Pointer: the current goroutine's runtime g (thread-local storage).
TEXT ·getg(SB),NOSPLIT,$0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET
