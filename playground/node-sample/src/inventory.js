export class OutOfStock extends Error {
  constructor(sku, wanted, left) {
    super(`${sku}: wanted ${wanted}, ${left} left`);
    this.name = 'OutOfStock';
  }
}

export class Inventory {
  #stock = new Map();

  constructor(items) {
    for (const [sku, qty] of Object.entries(items)) this.#stock.set(sku, qty);
  }

  available(sku) {
    return this.#stock.get(sku) ?? 0;
  }

  reserve(sku, qty) {
    const left = this.available(sku);
    if (qty > left) throw new OutOfStock(sku, qty, left);
    this.#stock.set(sku, left - qty);
    return left - qty;
  }
}
