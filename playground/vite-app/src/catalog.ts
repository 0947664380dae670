export interface Product {
  name: string;
  price: number;
}

/** Prices in cents, known without loading the catalog. */
export const PRICES: Record<string, number> = { apple: 50, pear: 75, melon: 300 };

interface RawProduct {
  id: string;
  cents: number;
  available: boolean;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A stand-in for `fetch('/api/products')`: answers after a short network delay. */
async function fetchProducts(): Promise<RawProduct[]> {
  await delay(20);
  return [
    { id: 'apple', cents: PRICES.apple!, available: true },
    { id: 'pear', cents: PRICES.pear!, available: true },
    { id: 'kiwi', cents: 40, available: false },
    { id: 'melon', cents: PRICES.melon!, available: true },
  ];
}

function normalize(raw: RawProduct[]): Product[] {
  const products: Product[] = [];
  for (const item of raw) {
    if (!item.available) continue;
    products.push({ name: item.id, price: item.cents });
  }
  return products;
}

export async function loadCatalog(): Promise<Product[]> {
  const raw = await fetchProducts();
  return normalize(raw);
}
