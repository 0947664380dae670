from shop import Cart, OutOfStock, checkout

PRICES = {"apple": 3, "pear": 4, "melon": 12}
STOCK = {"apple": 10, "pear": 2, "melon": 1}


def main():
    cart = Cart()
    cart.add("apple", 4)
    cart.add("melon")
    print("paid", checkout(cart, PRICES, STOCK))
    greedy = Cart()
    greedy.add("pear", 3)
    try:
        checkout(greedy, PRICES, STOCK)
    except OutOfStock as e:
        print("out of stock:", e)


if __name__ == "__main__":
    main()
