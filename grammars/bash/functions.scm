; Bash functions: `name() { ... }` and `function name { ... }`, at any depth.
; @function: the definition; @name: its name; @body: the compound statement (or the
; subshell / test command used as a body).

(function_definition
  name: (word) @name
  body: (_) @body) @function
