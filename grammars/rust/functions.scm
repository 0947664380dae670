; Rust functions. @function: the fn item or closure; @name: its name; @body: the block
; (or the expression of a closure). Trait method signatures are function_signature_item
; and are not matched.

(function_item
  name: (identifier) @name
  body: (block) @body) @function

; let add = |x| x + 1;
(let_declaration
  pattern: (identifier) @name
  value: (closure_expression
    body: (_) @body) @function)

(closure_expression
  body: (_) @body) @function
