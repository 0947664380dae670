; Java functions. @function: the declaration or lambda; @name: its name; @body: the block
; (or the expression of an expression lambda). Abstract and interface methods without a
; body are not matched.

(method_declaration
  name: (identifier) @name
  body: (block) @body) @function

(constructor_declaration
  name: (identifier) @name
  body: (constructor_body) @body) @function

; record P(int x) { P { ... } }
(compact_constructor_declaration
  name: (identifier) @name
  body: (block) @body) @function

; Function<Integer, Integer> twice = x -> x * 2;
(variable_declarator
  name: (identifier) @name
  value: (lambda_expression
    body: (_) @body) @function)

(lambda_expression
  body: (_) @body) @function
