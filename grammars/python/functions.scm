; Python functions.
; @function: the whole definition (for a decorated method this is the inner
; function_definition, not the decorated_definition); @name: its name;
; @body: the block (or the expression of a lambda).

; def / async def, at any depth: methods, nested functions.
(function_definition
  name: (identifier) @name
  body: (block) @body) @function

; A lambda bound to a name: `sq = lambda z: z * z`.
(assignment
  left: (identifier) @name
  right: (lambda
    body: (_) @body) @function)

; Any other lambda (anonymous).
(lambda
  body: (_) @body) @function
