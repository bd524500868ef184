// The README's first example (test/readme.test.ts checks they are the same program).
import * as mp from '../dist/index.mjs';

async function main() {
  mp.manualSeed(0);
  const w = mp.randn([4, 4]);                  // float32
  const h = w.to('bfloat16');                  // exact round-to-nearest-even cast
  console.log(h.toString());
  const sum = h.sum();
  console.log(await sum.data());               // Float32Array: 16-bit values are read as float32

  const loss = mp.tidy(() => {                 // frees every intermediate...
    const diff = w.sub(h.float());
    return diff.mul(diff).mean();              // ...except what is returned
  });
  console.log('bfloat16 rounding error (MSE):', loss.item());
  mp.dispose([w, h, sum, loss]);               // tensors made outside tidy are freed by hand

  console.log(mp.backend());                   // SIMD path, threads, CUDA
  console.log(mp.memory());                    // live tensors and bytes per device and dtype: none left
}

main();
