; TypeScript functions (same shapes as JavaScript; overload signatures, abstract methods
; and interface members have no body and are not matched). @function: the declaration,
; method, function expression or arrow function; @name: its name (for expressions, the
; variable, key, field or assignment target it is bound to); @body: the statement block or
; the expression body of an arrow function.

(function_declaration
  name: (identifier) @name
  body: (statement_block) @body) @function

(generator_function_declaration
  name: (identifier) @name
  body: (statement_block) @body) @function

; class and object-literal methods, getters, setters, constructors.
(method_definition
  name: (_) @name
  body: (statement_block) @body) @function

; const f = () => ..., const g = function () {...}
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function
            body: (_) @body)
          (function_expression
            body: (statement_block) @body)
          (generator_function
            body: (statement_block) @body)] @function)

; { key: () => ... } / { key: function () {...} }
(pair
  key: (_) @name
  value: [(arrow_function
            body: (_) @body)
          (function_expression
            body: (statement_block) @body)
          (generator_function
            body: (statement_block) @body)] @function)

; x.y = () => ..., exports.f = function () {...}
(assignment_expression
  left: (_) @name
  right: [(arrow_function
            body: (_) @body)
          (function_expression
            body: (statement_block) @body)
          (generator_function
            body: (statement_block) @body)] @function)

; Named function expressions keep their own name; others are anonymous.
(function_expression
  name: (identifier) @name
  body: (statement_block) @body) @function
(generator_function
  name: (identifier) @name
  body: (statement_block) @body) @function

(arrow_function
  body: (_) @body) @function
(function_expression
  body: (statement_block) @body) @function
(generator_function
  body: (statement_block) @body) @function

; class fields: handler = () => {...}
(public_field_definition
  name: (_) @name
  value: [(arrow_function
            body: (_) @body)
          (function_expression
            body: (statement_block) @body)
          (generator_function
            body: (statement_block) @body)] @function)
