; PHP functions. @function: the declaration, closure or arrow function; @name: its name;
; @body: the compound statement (or the expression of `fn() =>`). Abstract methods are
; not matched.

(function_definition
  name: (name) @name
  body: (compound_statement) @body) @function

(method_declaration
  name: (name) @name
  body: (compound_statement) @body) @function

; $double = function ($y) use ($x) { ... };  $triple = fn($z) => $z * 3;
(assignment_expression
  left: (variable_name) @name
  right: [(anonymous_function_creation_expression
            body: (_) @body)
          (arrow_function
            body: (_) @body)] @function)

(anonymous_function_creation_expression
  body: (_) @body) @function

(arrow_function
  body: (_) @body) @function
