import { Inventory, OutOfStock } from './inventory.js';
import { priceOrder } from './pricing.js';

const inventory = new Inventory({ apple: 10, pear: 4, melon: 1 });

async function checkout(order) {
  for (const line of order.lines) inventory.reserve(line.sku, line.qty);
  const total = await priceOrder(order);
  return { id: order.id, total };
}

async function main() {
  const orders = [
    { id: 1, region: 'EU', coupon: 'FRUIT10', lines: [{ sku: 'apple', qty: 4 }, { sku: 'pear', qty: 2 }] },
    { id: 2, region: 'US', lines: [{ sku: 'melon', qty: 2 }] },
    { id: 3, region: 'CH', lines: [{ sku: 'apple', qty: 1 }] },
  ];
  const receipts = [];
  for (const order of orders) {
    try {
      receipts.push(await checkout(order));
    } catch (err) {
      if (!(err instanceof OutOfStock)) throw err;
      console.log(`order ${order.id} refused: ${err.message}`);
    }
  }
  console.log('receipts:', receipts.map((r) => `#${r.id} ${r.total.toFixed(2)}`).join(', '));
}

await main();
