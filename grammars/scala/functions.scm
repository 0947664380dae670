; Scala functions. @function: the definition; @name: its name (`this` for auxiliary
; constructors); @body: the block or expression after `=`. Abstract declarations
; (function_declaration) have no body and are not matched. This grammar version has no
; lambda node: `(x: Int) => x + 1` parses as an infix_expression, so lambdas are not
; covered.

(function_definition
  name: (identifier) @name
  body: (_) @body) @function
