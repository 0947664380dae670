import { Cart } from './cart.js';
import { checkout, formatPrice } from './checkout.js';
import { loadCatalog, PRICES } from './catalog.js';

const cart = new Cart();

function $(id: string): HTMLElement {
  return document.getElementById(id)!;
}

function render(): void {
  const lines = cart.lines();
  $('cart').textContent = lines.length === 0 ? 'cart is empty' : lines.map((l) => `${l.quantity} × ${l.name}`).join(', ');
  $('total').textContent = `total ${formatPrice(cart.total())}`;
}

function onAddClick(event: MouseEvent): void {
  const name = (event.currentTarget as HTMLElement).dataset.product!;
  cart.add(name, PRICES[name]!);
  render();
}

function onRemoveClick(event: MouseEvent): void {
  const name = (event.currentTarget as HTMLElement).dataset.product!;
  if (!cart.remove(name)) $('status').textContent = `no ${name} to remove`;
  render();
}

function onCheckoutClick(): void {
  const status = $('status');
  try {
    const receipt = checkout(cart);
    status.className = '';
    status.textContent = `paid ${formatPrice(receipt.cents)} for ${receipt.items} items`;
  } catch (e) {
    status.className = 'error';
    status.textContent = `checkout failed: ${(e as Error).message}`;
  }
  render();
}

async function onLoadClick(): Promise<void> {
  $('catalog').textContent = 'loading catalog…';
  const products = await loadCatalog();
  $('catalog').textContent = products.map((p) => `${p.name} ${formatPrice(p.price)}`).join(', ');
}

for (const id of ['add-apple', 'add-pear', 'add-melon']) $(id).addEventListener('click', onAddClick);
$('remove-pear').addEventListener('click', onRemoveClick);
$('checkout').addEventListener('click', onCheckoutClick);
$('load').addEventListener('click', onLoadClick);
render();
$('ready').textContent = 'ready';
