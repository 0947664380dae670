// A small order service for trying `go build -toolexec cti-go` (see the README's Go section).
package main

import (
	"errors"
	"fmt"
	"sync"
)

type Item struct {
	SKU   string
	Price int
	Qty   int
}

type Order struct {
	ID    int
	Items []Item
}

var ErrEmpty = errors.New("empty order")

func subtotal(items []Item) int {
	sum := 0
	for _, it := range items {
		sum += it.Price * it.Qty
	}
	return sum
}

func discount(total int, code string) int {
	switch code {
	case "HALF":
		return total / 2
	case "TENOFF":
		if total > 10 {
			return total - 10
		}
		return 0
	default:
		return total
	}
}

func checkout(o Order, code string) (int, error) {
	if len(o.Items) == 0 {
		return 0, ErrEmpty
	}
	return discount(subtotal(o.Items), code), nil
}

func main() {
	orders := []Order{
		{ID: 1, Items: []Item{{"apple", 3, 4}, {"pear", 5, 1}}},
		{ID: 2},
		{ID: 3, Items: []Item{{"melon", 40, 1}}},
	}
	var wg sync.WaitGroup
	totals := make([]string, len(orders))
	for i, o := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total, err := checkout(o, []string{"", "HALF", "TENOFF"}[i])
			if err != nil {
				totals[i] = fmt.Sprintf("order %d: %v", o.ID, err)
				return
			}
			totals[i] = fmt.Sprintf("order %d: %d", o.ID, total)
		}()
	}
	wg.Wait()
	for _, t := range totals {
		fmt.Println(t)
	}
}
