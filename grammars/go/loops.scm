; Go loops: every loop is a for_statement.

; for k, v := range m { }
(for_statement
  (range_clause)
  body: (block) @body) @loop.range

; for i := 0; i < n; i++ { }
(for_statement
  (for_clause)
  body: (block) @body) @loop.for

; for cond { }
(for_statement
  (_expression)
  body: (block) @body) @loop.for

; for { }
(for_statement
  .
  body: (block) @body) @loop.for
