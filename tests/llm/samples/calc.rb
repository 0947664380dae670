# A small program for the LLM path: main -> twice -> add.
def add(a, b)
  s = a + b
  s
end

def twice(x)
  if x > 10
    return x
  end
  add(x, x)
end

def main
  puts twice(3)
end

main
