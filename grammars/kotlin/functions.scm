; Kotlin functions (fwcd grammar: no field names). @function: the declaration,
; lambda or anonymous function; @name: its name; @body: function_body / statements.
; A function's name is its only direct simple_identifier child (the receiver and
; types are user_type nodes). Declarations without a body are not matched.

(function_declaration
  (simple_identifier) @name
  (function_body) @body) @function

; constructor(...) : this(...) { ... }
(secondary_constructor
  "constructor" @name
  (statements) @body) @function

; init { ... }
(anonymous_initializer
  "init" @name
  (statements) @body) @function

; val f = fun(a: Int): Int { ... } / val sq = { y: Int -> y * y }
(property_declaration
  (variable_declaration
    (simple_identifier) @name)
  (anonymous_function
    (function_body) @body) @function)
(property_declaration
  (variable_declaration
    (simple_identifier) @name)
  (lambda_literal
    (statements) @body) @function)

(anonymous_function
  (function_body) @body) @function

(lambda_literal
  (statements) @body) @function
