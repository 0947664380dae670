; C++ functions. @function: the definition or lambda; @name: the declarator's name as
; written (`f`, `size`, `Widget::grow`, `~Widget`, `operator+=`); @body: the compound
; statement. The function_declarator may sit under pointer/reference declarators.

(function_definition
  declarator: (function_declarator
    declarator: [(identifier) (field_identifier) (qualified_identifier) (destructor_name) (operator_name) (operator_cast) (template_function)] @name)
  body: (compound_statement) @body) @function

(function_definition
  declarator: [(pointer_declarator
                 declarator: (function_declarator
                   declarator: [(identifier) (field_identifier) (qualified_identifier) (destructor_name) (operator_name) (operator_cast) (template_function)] @name))
               (reference_declarator
                 (function_declarator
                   declarator: [(identifier) (field_identifier) (qualified_identifier) (destructor_name) (operator_name) (operator_cast) (template_function)] @name))]
  body: (compound_statement) @body) @function

; Anything else is still found, unnamed.
(function_definition
  body: (compound_statement) @body) @function

; auto add = [](int k) { ... };
(init_declarator
  declarator: (identifier) @name
  value: (lambda_expression
    body: (compound_statement) @body) @function)

(lambda_expression
  body: (compound_statement) @body) @function
