package main

import (
	"errors"
	"fmt"
)

func classify(n int) string {
	if n < 0 {
		return "negative"
	} else if n == 0 {
		return "zero"
	} else {
		return "positive"
	}
}

func total(items []int) int {
	sum := 0
	for _, x := range items {
		sum += x
	}
	return sum
}

func risky(x int) (int, error) {
	if x > 2 {
		return 0, errors.New("too big")
	}
	return x, nil
}

func run() string {
	classify(-1)
	classify(0)
	classify(7)
	total([]int{1, 2, 3})
	if _, err := risky(5); err != nil {
		fmt.Println("caught:", err.Error())
	}
	risky(1)
	return "done"
}

// cti-ignore: main plays the part of the JS program's top level, which is not a function.
func main() {
	fmt.Println(run())
}
