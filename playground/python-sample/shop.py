"""A tiny order service: the Python twin of playground/node-sample."""
from dataclasses import dataclass, field


class OutOfStock(Exception):
    pass


@dataclass
class Cart:
    items: list = field(default_factory=list)

    def add(self, sku, qty=1):
        self.items.append((sku, qty))
        return len(self.items)

    def total(self, prices):
        amount = 0
        for sku, qty in self.items:
            amount += prices[sku] * qty
        return amount


def checkout(cart, prices, stock):
    for sku, qty in cart.items:
        if stock.get(sku, 0) < qty:
            raise OutOfStock(sku)
    total = cart.total(prices)
    discount = 5 if total > 50 else 0
    return total - discount
