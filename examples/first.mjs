// The README's first example: exact casts, tidy scopes, and what the backend chose.
import * as mp from '../dist/index.mjs';

mp.manualSeed(0);
const w = mp.randn([4, 4]);
const h = w.to('bfloat16');
console.log(h.toString());
console.log(await h.sum().data());

const loss = mp.tidy(() => {
  const diff = w.sub(h.float());
  return diff.mul(diff).mean();
});
console.log('bfloat16 rounding error (MSE):', loss.item());
loss.dispose();

console.log(mp.backend());
console.log(mp.memory());
