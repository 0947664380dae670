; Go branches. One capture per branch, its name says the kind;
; @body is the block that runs when the branch is taken (case clauses have no
; block: their statements are direct children of the clause).

; if / else if (an `else if` is a nested if_statement and is captured as @branch.if).
(if_statement
  consequence: (block) @body) @branch.if

; the final `else { ... }`
(if_statement
  alternative: (block) @branch.else @body)

; switch x { case 1, 2: ... }
(expression_case) @branch.case

; switch v := x.(type) { case int: ... }
(type_case) @branch.type_case

; select { case v := <-ch: ... case ch <- 1: ... }
(communication_case) @branch.communication_case

; default: in expression switch, type switch and select.
(default_case) @branch.default
