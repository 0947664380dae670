; Python assignments: every place a statement binds or rebinds a name.
; @assignment.<kind> is the node holding the binding, @target what is bound.
; Chained `a = b = 1` yields one match per `=`.

; x = 1, a, b = t, self.x = y, d[k] = v
(assignment
  left: (_) @target
  !type
  right: (_)) @assignment.plain

; x: int = 1 (a bare annotation `x: int` binds nothing and is not captured)
(assignment
  left: (_) @target
  type: (_)
  right: (_)) @assignment.annotated

; x += 1
(augmented_assignment
  left: (_) @target) @assignment.augmented

; (n := 10)
(named_expression
  name: (identifier) @target) @assignment.walrus

; for i, j in ...: the loop variables.
(for_statement
  left: (_) @target) @assignment.for

; with open(p) as f:
(with_item
  value: (as_pattern
    alias: (as_pattern_target) @target) @assignment.with)

; except ValueError as e: / except* ValueError as e:
(except_clause
  (as_pattern
    alias: (as_pattern_target) @target) @assignment.except)
(except_group_clause
  (as_pattern
    alias: (as_pattern_target) @target) @assignment.except)
