import type { Cart } from './cart.js';

export class EmptyCartError extends Error {
  constructor() {
    super('cart is empty');
    this.name = 'EmptyCartError';
  }
}

export interface Receipt {
  items: number;
  cents: number;
}

export function formatPrice(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

export function checkout(cart: Cart): Receipt {
  const items = cart.count();
  if (items === 0) throw new EmptyCartError();
  const receipt = { items, cents: cart.total() };
  cart.clear();
  return receipt;
}
