def classify(n):
    if n < 0:
        return "negative"
    elif n == 0:
        return "zero"
    else:
        return "positive"


def total(items):
    sum = 0
    for x in items:
        sum += x
    return sum


def risky(x):
    if x > 2:
        raise ValueError("too big")
    return x


def run():
    classify(-1)
    classify(0)
    classify(7)
    total([1, 2, 3])
    try:
        risky(5)
    except ValueError as e:
        print("caught:", e)
    risky(1)
    return "done"


print(run())
