; C# functions. @function: the declaration, local function, lambda or anonymous method;
; @name: its name; @body: the block or the `=> expr` clause. Abstract/interface/extern
; members without a body are not matched.

(method_declaration
  name: (identifier) @name
  body: (_) @body) @function

(constructor_declaration
  name: (identifier) @name
  body: (_) @body) @function

(destructor_declaration
  name: (identifier) @name
  body: (_) @body) @function

(operator_declaration
  "operator" @name
  body: (_) @body) @function

(conversion_operator_declaration
  "operator" @name
  body: (_) @body) @function

(local_function_statement
  name: (identifier) @name
  body: (_) @body) @function

; int Prop { get { ... } set { ... } }: each accessor, named after the property.
(property_declaration
  name: (identifier) @name
  accessors: (accessor_list
    (accessor_declaration
      body: (_) @body) @function))

; Func<int, int> twice = x => x * 2;  (variable_declarator has no `name` field here)
(variable_declarator
  (identifier) @name
  (equals_value_clause
    [(lambda_expression
       body: (_) @body)
     (anonymous_method_expression
       (block) @body)] @function))

(lambda_expression
  body: (_) @body) @function

(anonymous_method_expression
  (block) @body) @function
