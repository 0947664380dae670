; Swift functions. @function: the declaration, accessor or closure; @name: its name;
; @body: function_body / statements. In this grammar the `name` field is also used for
; parameter and return types, hence the (simple_identifier) restriction. Protocol
; requirements without a body are not matched.

(function_declaration
  name: (simple_identifier) @name
  body: (function_body) @body) @function

(init_declaration
  "init" @name
  body: (function_body) @body) @function

(deinit_declaration
  "deinit" @name
  body: (function_body) @body) @function

; var doubled: Int { get { ... } set { ... } }: each accessor, named after the property.
(property_declaration
  name: (pattern
    bound_identifier: (simple_identifier) @name)
  computed_value: (computed_property
    [(computed_getter
       (statements) @body)
     (computed_setter
       (statements) @body)] @function))

; let add = { (x: Int) -> Int in x + 1 }
(property_declaration
  name: (pattern
    bound_identifier: (simple_identifier) @name)
  value: (lambda_literal
    (statements) @body) @function)

(lambda_literal
  (statements) @body) @function
