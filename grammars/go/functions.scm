; Go functions.
; @function: the whole declaration or literal; @name: its name; @body: the block.
; Declarations without a body (assembly stubs) are not matched.

; func F(...) / func F[T any](...)
(function_declaration
  name: (identifier) @name
  body: (block) @body) @function

; func (r *T) M(...)
(method_declaration
  name: (field_identifier) @name
  body: (block) @body) @function

; A closure bound by `f := func(...) {...}` or `f = func...` (single name).
(short_var_declaration
  left: (expression_list . (identifier) @name .)
  right: (expression_list . (func_literal
    body: (block) @body) @function .))
(assignment_statement
  left: (expression_list . (identifier) @name .)
  right: (expression_list . (func_literal
    body: (block) @body) @function .))

; Any other closure (anonymous): go func() {...}(), defer func() {...}(), arguments.
(func_literal
  body: (block) @body) @function
