const PRICES = { apple: 0.5, pear: 0.75, melon: 3.2 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pretends to ask a tax service. */
export async function taxRate(region) {
  await sleep(3);
  switch (region) {
    case 'EU': return 0.2;
    case 'US': return 0.07;
    default: return 0;
  }
}

export function subtotal(lines) {
  let total = 0;
  for (const line of lines) {
    total += PRICES[line.sku] * line.qty;
  }
  return Math.round(total * 100) / 100;
}

export async function priceOrder(order) {
  const base = subtotal(order.lines);
  const discount = order.coupon === 'FRUIT10' ? base * 0.1 : 0;
  const rate = await taxRate(order.region);
  const total = (base - discount) * (1 + rate);
  return Math.round(total * 100) / 100;
}
