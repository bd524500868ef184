// Prints a SHA-256 of random tensors made with the thread count from MIXPREC_NUM_THREADS.
const { createHash } = require('node:crypto');
const mp = require('../../dist');

mp.manualSeed(99);
const hash = createHash('sha256');
for (const make of [() => mp.rand([1 << 20]), () => mp.randn([1 << 20], { dtype: 'bfloat16' }), () => mp.randint(0, 1000, [1 << 20])]) {
  const t = make();
  hash.update(Buffer.from(t.rawData().buffer));
  t.dispose();
}
console.log(hash.digest('hex'));
