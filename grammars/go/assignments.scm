; Go assignments: every place a statement binds or changes a variable.
; @assignment.<kind> is the statement, @target the left-hand side where it is a
; single node (an expression_list, or the operand of ++/--). A var_spec has no
; single left-hand node: its names are the repeated `name` fields.

; x, y := 1, 2
(short_var_declaration
  left: (expression_list) @target) @assignment.short_var

; x = 1, x, y = y, x
(assignment_statement
  left: (expression_list) @target
  operator: "=") @assignment.assign

; x += 1, x <<= 2, ...
(assignment_statement
  left: (expression_list) @target
  operator: ["+=" "-=" "*=" "/=" "%=" "&=" "|=" "^=" "<<=" ">>=" "&^="]) @assignment.augmented

; var x = 1, var a, b int (zero value), inside var ( ... ) blocks too.
(var_spec) @assignment.var

; x++ / x--
(inc_statement
  (_) @target) @assignment.inc
(dec_statement
  (_) @target) @assignment.dec

; for k, v := range m / for k, v = range m
(range_clause
  left: (expression_list) @target) @assignment.range

; select { case v, ok := <-ch: }
(receive_statement
  left: (expression_list) @target) @assignment.receive

; switch v := x.(type)
(type_switch_statement
  alias: (expression_list) @target) @assignment.type_switch
