; Python branches. One capture per branch, its name says the kind;
; @body is the block that runs when the branch is taken (when there is one).

(if_statement
  consequence: (block) @body) @branch.if

(elif_clause
  consequence: (block) @body) @branch.elif

(else_clause
  body: (block) @body) @branch.else

; match/case (3.10+). `case _:` is a case_clause like any other.
(case_clause
  consequence: (block) @body) @branch.case

; `a if cond else b`: a branch without a block.
(conditional_expression) @branch.conditional
