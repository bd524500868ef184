#!/usr/bin/env node
// Cast throughput for each 16-bit <-> float32 pair beside memory-copy bandwidth, measured in the
// same run on the same buffers. Throughput counts bytes read plus bytes written.
//   npm run bench:cast [-- --json [FILE]] [-- --mib 64] [-- --repeats 15] [-- --device cuda]
'use strict';
const mp = require('../dist');
const { native } = require('../dist/native');
const { dtypeCode } = require('../dist/dtype');

const { json, printJson, numberOption, stringOption } = require('./cliArgs');

const mib = numberOption('--mib', 64);
const repeats = numberOption('--repeats', 15);
const n = (mib * 1024 * 1024) / 4;
const device = stringOption('--device', 'cpu');
const onGpu = device !== 'cpu';
// Device work is queued on a stream: wait for it so the clock measures the kernel.
const finish = () => onGpu && mp.cuda.synchronize(device);

function bestSeconds(fn) {
  fn();
  finish();
  let best = Infinity;
  for (let r = 0; r < repeats; ++r) {
    const t0 = process.hrtime.bigint();
    fn();
    finish();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

const f32 = mp.randn([n], { device });
const f32b = mp.empty([n], { device });
const h = f32.to('float16');
const b = f32.to('bfloat16');
const castCase = (name, src, dst) => ({
  name,
  bytes: n * (src.dtype === 'float32' ? 4 : 2) + n * (dst.dtype === 'float32' ? 4 : 2),
  run: () => native.cast(src.storage.handle, 0, dtypeCode(src.dtype), dst.storage.handle, 0, dtypeCode(dst.dtype), n),
});
const cases = [
  castCase('memory copy (float32 -> float32)', f32, f32b),
  castCase('float32 -> float16', f32, h),
  castCase('float32 -> bfloat16', f32, b),
  castCase('float16 -> float32', h, f32b),
  castCase('bfloat16 -> float32', b, f32b),
];

const detected = mp.backend().simdDetected;
const levels = onGpu ? [device] : detected === 'scalar' ? ['scalar'] : [detected, 'scalar'];
const rows = [];
for (const level of levels) {
  if (!onGpu) mp.setSimdLevel(level);
  let copyGBs;
  for (const c of cases) {
    const gbs = c.bytes / bestSeconds(c.run) / 1e9;
    if (c.name.startsWith('memory copy')) copyGBs = gbs;
    rows.push({ simd: level, case: c.name, gbPerSecond: +gbs.toFixed(2), percentOfCopy: +((100 * gbs) / copyGBs).toFixed(1) });
  }
}
mp.setSimdLevel(detected);
mp.dispose([f32, f32b, h, b]);

const meta = { device, elements: n, mib, repeats, threads: mp.backend().numThreads, node: process.version };
printJson({ ...meta, results: rows });
if (!json) {
  console.log(`cast throughput on ${device}, ${mib} MiB of float32 (${n} elements), best of ${repeats}${onGpu ? '' : `, ${meta.threads} threads`}`);
  console.log(`${onGpu ? 'device     ' : 'simd       '} case                               GB/s   % of copy`);
  for (const r of rows) {
    console.log(`${r.simd.padEnd(11)} ${r.case.padEnd(34)} ${String(r.gbPerSecond).padStart(6)}   ${String(r.percentOfCopy).padStart(6)}`);
  }
}
