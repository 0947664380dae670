; Python loops (`async for` is a for_statement too).

(for_statement
  body: (block) @body) @loop.for

(while_statement
  body: (block) @body) @loop.while
