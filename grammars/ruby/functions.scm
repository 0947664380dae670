; Ruby functions. @function: the method, lambda or block; @name: its name; @body: its
; body. A method with an empty body (`def x; end`) has no body node and is not matched.

(method
  name: (_) @name
  body: (_) @body) @function

; def self.create
(singleton_method
  name: (_) @name
  body: (_) @body) @function

; twice = ->(x) { x * 2 }
(assignment
  left: (identifier) @name
  right: (lambda
    body: (_) @body) @function)

; shout = lambda { |s| s.upcase } / proc do ... end
(assignment
  left: (identifier) @name
  right: (call
    method: (identifier) @_method
    block: [(block
             body: (_) @body)
            (do_block
             body: (_) @body)] @function)
  (#any-of? @_method "lambda" "proc"))

(lambda
  body: (_) @body) @function

; Blocks are closures: `items.each do |i| ... end`, `lambda { |s| ... }`, named after
; the method they are passed to.
(call
  method: (identifier) @name
  block: [(block
           body: (_) @body)
          (do_block
           body: (_) @body)] @function)
