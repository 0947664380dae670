function classify(n) {
  if (n < 0) {
    return 'negative';
  } else if (n === 0) {
    return 'zero';
  } else {
    return 'positive';
  }
}

function total(items) {
  let sum = 0;
  for (const x of items) {
    sum += x;
  }
  return sum;
}

function risky(x) {
  if (x > 2) throw new Error('too big');
  return x;
}

function run() {
  classify(-1);
  classify(0);
  classify(7);
  total([1, 2, 3]);
  try {
    risky(5);
  } catch (e) {
    console.log('caught:', e.message);
  }
  risky(1);
  return 'done';
}

console.log(run());
