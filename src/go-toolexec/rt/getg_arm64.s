#include "textflag.h"

// func getg() unsafe.Pointer: the current goroutine's runtime g (register g).
TEXT ·getg(SB),NOSPLIT,$0-8
	MOVD g, R0
	MOVD R0, ret+0(FP)
	RET
