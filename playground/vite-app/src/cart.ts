export interface Line {
  name: string;
  price: number;
  quantity: number;
}

/** Three or more of one product: 10% off that line. */
const BULK_QUANTITY = 3;

export class Cart {
  #lines = new Map<string, Line>();

  add(name: string, price: number, quantity = 1): number {
    const line = this.#lines.get(name);
    if (line) {
      line.quantity += quantity;
    } else {
      this.#lines.set(name, { name, price, quantity });
    }
    return this.count();
  }

  remove(name: string): boolean {
    const line = this.#lines.get(name);
    if (!line) return false;
    if (line.quantity > 1) line.quantity -= 1;
    else this.#lines.delete(name);
    return true;
  }

  count(): number {
    let n = 0;
    for (const line of this.#lines.values()) n += line.quantity;
    return n;
  }

  /** In cents. */
  total(): number {
    let sum = 0;
    for (const line of this.#lines.values()) {
      let amount = line.price * line.quantity;
      if (line.quantity >= BULK_QUANTITY) {
        amount = Math.round(amount * 0.9);
      }
      sum += amount;
    }
    return sum;
  }

  lines(): Line[] {
    return [...this.#lines.values()];
  }

  clear(): void {
    this.#lines.clear();
  }
}
