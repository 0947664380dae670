; C functions. @function: the definition; @name: the declared identifier; @body: the
; compound statement. The name sits under a function_declarator, itself possibly under
; pointer declarators (`int *f(void)`, `char **g(void)`).

(function_definition
  declarator: (function_declarator
    declarator: (identifier) @name)
  body: (compound_statement) @body) @function

(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (identifier) @name))
  body: (compound_statement) @body) @function

(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name)))
  body: (compound_statement) @body) @function

; Anything else (e.g. a function returning a function pointer) is still found, unnamed.
(function_definition
  body: (compound_statement) @body) @function
