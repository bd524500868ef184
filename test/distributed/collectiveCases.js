// The collective cases of test/distributed.test.ts and the inputs of every rank, shared by the
// rank script (test/distributed/collectivesRun.js, run under mpirun) and the test, which rebuilds every
// rank's input to compute the single-process reference. Inputs are exactly representable in
// their dtype (so building the tensor rounds nothing) and use the dtype's full mantissa (so the
// 16-bit and float32 sums round).
'use strict';

const DTYPES = ['float32', 'float64', 'int32', 'float16', 'bfloat16'];
const OPS = ['sum', 'avg', 'max', 'min'];

/** mulberry32, seeded per (case, rank). */
function generator(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; ++i) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** One value exactly representable in `dtype`, magnitude about 2^-3..2^4. */
function value(dtype, random) {
  const sign = random() < 0.5 ? -1 : 1;
  const exponent = Math.floor(random() * 8) - 3;
  switch (dtype) {
    case 'int32': return Math.floor(random() * 2001) - 1000;
    case 'float64': return sign * (1 + random()) * 2 ** exponent;
    case 'float32': return Math.fround(sign * (1 + random()) * 2 ** exponent);
    case 'float16': return sign * (1 + Math.floor(random() * 1024) / 1024) * 2 ** exponent;
    case 'bfloat16': {
      u32[0] = (Math.floor(random() * 128) | ((127 + exponent) << 7) | (sign < 0 ? 0x8000 : 0)) << 16;
      return f32[0];
    }
    default: throw new Error(`no inputs for ${dtype}`);
  }
}

/** Values max and min must handle exactly whatever the reduction order: NaN, signed zeros, infinities, ties. */
const SPECIALS = [NaN, 0, -0, Infinity, -Infinity, 1.5];

/** Rank `rank`'s input for case `c`: `n` numbers (a plain array). */
function inputOf(c, rank, n) {
  const random = generator(seedOf(`${c.name}/${rank}`));
  const out = new Array(n);
  for (let i = 0; i < n; ++i) out[i] = value(c.dtype, random);
  if ((c.op === 'max' || c.op === 'min') && c.dtype !== 'int32') {
    // The first positions hold specials, a different mix on each rank, so pairs like (NaN, 1),
    // (0, -0) and (inf, x) meet.
    for (let i = 0; i < Math.min(n, 12); ++i) out[i] = SPECIALS[(i + rank * (1 + (i % 5))) % SPECIALS.length];
  }
  return out;
}

/** Every case for a world of `size`: n = elements each rank contributes. */
function casesFor(size) {
  const cases = [];
  for (const dtype of DTYPES) {
    for (const op of OPS) {
      if (op === 'avg' && dtype === 'int32') continue;
      for (const n of [0, 1, 7, 1000]) cases.push({ name: `allReduce/${dtype}/${op}/${n}`, kind: 'allReduce', dtype, op, n });
      for (const n of [0, 7, 333]) cases.push({ name: `reduceScatter/${dtype}/${op}/${n}`, kind: 'reduceScatter', dtype, op, n });
    }
    for (const n of [0, 7, 1000]) {
      for (const src of [0, size - 1]) cases.push({ name: `broadcast/${dtype}/src${src}/${n}`, kind: 'broadcast', dtype, src, n });
      cases.push({ name: `allGather/${dtype}/${n}`, kind: 'allGather', dtype, n });
      cases.push({ name: `allGatherList/${dtype}/${n}`, kind: 'allGatherList', dtype, n });
    }
  }
  // An odd size past every algorithm's segment and eager limits (MPI splits it into pieces, and
  // the 16-bit op sees them one by one). The 1000-element cases cover float16 and avg.
  // (3 ranks: a tenth of it, which keeps the test's reference check short.)
  const n = size === 2 ? 1000003 : 100003;
  for (const dtype of ['float32', 'bfloat16']) cases.push({ name: `allReduce/${dtype}/sum/${n}`, kind: 'allReduce', dtype, op: 'sum', n });
  return cases;
}

/** The elements of rank `rank`'s input tensor (reduceScatter's input holds size blocks of n). */
function inputLength(c, size) {
  return c.kind === 'reduceScatter' ? c.n * size : c.n;
}

module.exports = { casesFor, inputOf, inputLength };
