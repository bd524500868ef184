#!/usr/bin/env node
// All-reduce bandwidth of mp.distributed (Open MPI engine) between 2 ranks on this machine, next
// to the same MPI_Allreduce from C (bench/allreduceRef.c, compiled here with mpicc) in the same
// run, and to the non-blocking MPI_Iallreduce the engine calls (also from C): 1, 4, 16 and 64 MiB of float32 and bfloat16, sum. Bus bandwidth as nccl-tests defines
// it: bytes * 2 (n - 1) / n / time. Also the latency of an 8-byte allReduce, and what the
// agreement step (one 80-byte allreduce before each collective) costs in C.
//   node bench/allreduce.js [--ranks 2]      (needs mpirun and mpicc: Debian openmpi-bin, libopenmpi-dev)
// Run with --rank, each rank of the mixprec side (started by this script under mpirun).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { numberOption } = require('./cliArgs');

const mpirun = ['--allow-run-as-root', '--oversubscribe'];
const sizesMiB = [1, 4, 16, 64];

function rankMain() {
  const mp = require('../dist');
  const d = mp.distributed;
  d.initProcessGroup({ timeoutMs: 120000 });
  const rank = d.getRank();
  for (const dtype of ['float32', 'bfloat16']) {
    for (const mib of sizesMiB) {
      const bytes = mib << 20;
      const t = mp.keep(mp.zeros([bytes / (dtype === 'float32' ? 4 : 2)], { dtype }));
      const iters = mib >= 64 ? 5 : mib >= 16 ? 10 : 20;
      const times = [];
      for (let i = -2; i < iters; ++i) {
        d.barrier();
        const t0 = performance.now();
        d.allReduce(t);
        if (i >= 0) times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      if (rank === 0) console.log(JSON.stringify({ dtype, bytes, iters, bestMs: times[0], medianMs: times[iters >> 1] }));
      t.dispose();
    }
  }
  // Best of 5 rounds: the machine is shared, so single loops are noisy.
  const small = mp.keep(mp.tensor([1, 2]));
  let best = Infinity;
  for (let round = 0; round < 5; ++round) {
    d.barrier();
    const iters = 500;
    const t0 = performance.now();
    for (let i = 0; i < iters; ++i) d.allReduce(small);
    best = Math.min(best, ((performance.now() - t0) * 1000) / iters);
  }
  if (rank === 0) console.log(JSON.stringify({ latency: '8 B (agreement included)', us: best }));
  d.destroyProcessGroup();
}

function parse(output) {
  return output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

function main() {
  const ranks = numberOption('--ranks', 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-allreduce-'));
  const binary = path.join(dir, 'allreduceRef');
  const cc = spawnSync('mpicc', ['-O2', '-o', binary, path.join(__dirname, 'allreduceRef.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`mpicc failed (Debian: apt-get install libopenmpi-dev):\n${cc.stderr}`);
  const run = (args) => {
    const r = spawnSync('mpirun', [...mpirun, '-np', String(ranks), ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`mpirun ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
    return parse(r.stdout);
  };
  const ours = run([process.execPath, __filename, '--rank']);
  const reference = run([binary]);
  fs.rmSync(dir, { recursive: true, force: true });
  const busGBs = (row, ms) => (row.bytes * 2 * (ranks - 1)) / ranks / (ms / 1000) / 1e9;
  console.log(`all-reduce (sum) between ${ranks} ranks on ${os.cpus().length} CPUs (${os.cpus()[0].model}); best / median of the iterations`);
  console.log('dtype     size     mixprec busbw GB/s (ms)        C MPI_Allreduce busbw GB/s (ms)  C MPI_Iallreduce best GB/s (ms)');
  for (const row of ours.filter((r) => r.dtype)) {
    const ref = reference.find((r) => r.dtype === row.dtype && r.bytes === row.bytes);
    const cell = (r) => `${busGBs(r, r.bestMs).toFixed(2)} / ${busGBs(r, r.medianMs).toFixed(2)} (${r.bestMs.toFixed(1)} / ${r.medianMs.toFixed(1)})`;
    const nonBlocking = `${busGBs(ref, ref.nonBlockingBestMs).toFixed(2)} (${ref.nonBlockingBestMs.toFixed(1)})`;
    console.log(`${row.dtype.padEnd(9)} ${String(row.bytes >> 20).padStart(2)} MiB   ${cell(row).padEnd(30)} ${cell(ref).padEnd(32)} ${nonBlocking}`);
  }
  for (const row of [...ours, ...reference].filter((r) => r.latency)) {
    console.log(`latency ${row.latency.padEnd(26)} ${ours.includes(row) ? 'mixprec' : 'C      '} ${row.us.toFixed(1)} µs`);
  }
}

if (process.argv.includes('--rank')) rankMain();
else main();
