// mp.distributed on Open MPI, across real processes on this machine: mpirun launches the rank
// scripts in test/distributed/ (against dist/, which `npm test` builds first), and this file checks
// what they report against single-process references built here from the same inputs.
// Four mpirun launches of 2 and 3 ranks plus three short failure launches: about 25 s here.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as mp from '../lib';
import { native } from '../lib/native';
import { bf16BitsToF32Bits, f16BitsToNumber, f32BitsToBf16Bits, f32BitsToF16Bits } from './helpers/floatReference';
import { skippedBecause } from './helpers/skipReason';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { casesFor, inputOf, inputLength } = require('./distributed/collectiveCases') as {
  casesFor(size: number): Case[];
  inputOf(c: Case, rank: number, n: number): number[];
  inputLength(c: Case, size: number): number;
};

interface Case {
  name: string;
  kind: 'allReduce' | 'broadcast' | 'allGather' | 'allGatherList' | 'reduceScatter';
  dtype: 'float32' | 'float64' | 'int32' | 'float16' | 'bfloat16';
  op?: 'sum' | 'avg' | 'max' | 'min';
  src?: number;
  n: number;
}

const distDir = path.join(__dirname, 'distributed');
const mpirunArgs = ['--allow-run-as-root', '--oversubscribe'];

function whyNotRunnable(): string | undefined {
  if (spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status !== 0) return 'mpirun not found (Debian: apt-get install openmpi-bin)';
  if (!mp.distributed.isAvailable('mpi')) return 'Open MPI (libmpi.so.40) cannot be loaded';
  return undefined;
}
const skipReason = whyNotRunnable();
const describeMpi = skipReason ? describe.skip : describe;
const mpiTitle = (title: string): string => (skipReason ? `${title} ${skippedBecause(skipReason)}` : title);

interface Launch {
  status: number | null;
  signal: string | null;
  output: string;
  ms: number;
  checks: Record<string, unknown>[];
}

function launch(ranks: number, script: string, args: string[], options: { timeoutMs: number; killSignal?: NodeJS.Signals }): Launch {
  const started = Date.now();
  const r = spawnSync('mpirun', [...mpirunArgs, '-np', String(ranks), process.execPath, path.join(distDir, script), ...args], {
    encoding: 'utf8', timeout: options.timeoutMs, killSignal: options.killSignal ?? 'SIGKILL', maxBuffer: 64 << 20,
  });
  const output = `${r.stdout}${r.stderr}`;
  const checks = output.split('\n').filter((line) => line.startsWith('CHECK ')).map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
  return { status: r.status, signal: r.signal, output, ms: Date.now() - started, checks };
}

// ---- the single-process reference ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bitsOfF32(x: number): number {
  f32[0] = x;
  return u32[0];
}
function f32OfBits(b: number): number {
  u32[0] = b;
  return f32[0];
}
/** x (a float32 value) rounded to nearest even in `dtype`. */
function round(dtype: Case['dtype'], x: number): number {
  switch (dtype) {
    case 'float64': return x;
    case 'int32': return x | 0;
    case 'float32': return Math.fround(x);
    case 'float16': return f16BitsToNumber(f32BitsToF16Bits(bitsOfF32(Math.fround(x))));
    case 'bfloat16': return f32OfBits(bf16BitsToF32Bits(f32BitsToBf16Bits(bitsOfF32(Math.fround(x)))));
  }
}
/** One pairwise combine as the engine promises it: 16-bit operands widened to float32, combined, rounded once. */
function combine(c: Case, a: number, b: number): number {
  if (c.op === 'max' || c.op === 'min') {
    if (Number.isNaN(a)) return a;
    if (Number.isNaN(b)) return b;
    if (a === b) return (c.op === 'max') === Object.is(a, -0) ? b : a; // max(+0,-0) = +0, min = -0, either order
    return c.op === 'max' ? Math.max(a, b) : Math.min(a, b);
  }
  if (c.dtype === 'int32') return (a + b) | 0;
  return round(c.dtype, c.dtype === 'float64' ? a + b : Math.fround(a + b));
}
function finish(c: Case, x: number, size: number): number {
  if (c.op !== 'avg') return x;
  return c.dtype === 'float64' ? x / size : round(c.dtype, Math.fround(x / size));
}
/** Every value element i may take: one per order in which the ranks' values can be combined pairwise. */
function candidates(c: Case, values: number[], size: number): number[] {
  if (size === 2) return [finish(c, combine(c, values[0], values[1]), size)];
  const [a, b, d] = values;
  return [combine(c, combine(c, a, b), d), combine(c, combine(c, a, d), b), combine(c, combine(c, b, d), a)].map((x) => finish(c, x, size));
}

function decode(dtype: Case['dtype'], bytes: Buffer): number[] {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (dtype) {
    case 'float32': return Array.from(new Float32Array(buffer));
    case 'float64': return Array.from(new Float64Array(buffer));
    case 'int32': return Array.from(new Int32Array(buffer));
    case 'float16': return Array.from(new Uint16Array(buffer), f16BitsToNumber);
    case 'bfloat16': return Array.from(new Uint16Array(buffer), (h) => f32OfBits(bf16BitsToF32Bits(h)));
  }
}
const same = (x: number, y: number): boolean => Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));

/** The first element of rank `rank`'s result that no reference allows, or null. `inputs`: every rank's input. */
function firstWrong(c: Case, inputs: number[][], rank: number, got: number[]): string | null {
  const size = inputs.length;
  const expectedLength = c.kind === 'allGather' || c.kind === 'allGatherList' ? size * c.n : c.n;
  if (got.length !== expectedLength) return `length ${got.length}, expected ${expectedLength}`;
  const column = new Array<number>(size);
  for (let i = 0; i < got.length; ++i) {
    let allowed: number[];
    if (c.kind === 'broadcast') allowed = [inputs[c.src!][i]];
    else if (c.kind === 'allGather' || c.kind === 'allGatherList') allowed = [inputs[Math.floor(i / c.n)][i % c.n]];
    else {
      const at = c.kind === 'reduceScatter' ? rank * c.n + i : i;
      for (let r = 0; r < size; ++r) column[r] = inputs[r][at];
      allowed = candidates(c, column, size);
    }
    if (!allowed.some((a) => same(a, got[i]))) {
      return `element ${i}: got ${Object.is(got[i], -0) ? '-0' : got[i]}, expected ${allowed.join(' or ')} from ${column.join(', ')}`;
    }
  }
  return null;
}

function checkCollectives(size: number, out: string): void {
  const cases = casesFor(size);
  const wrong: string[] = [];
  cases.forEach((c, index) => {
    const inputs = Array.from({ length: size }, (_, r) => inputOf(c, r, inputLength(c, size)));
    const results = Array.from({ length: size }, (_, rank) => fs.readFileSync(path.join(out, String(rank), `${index}.bin`)));
    results.forEach((bytes, rank) => {
      const problem = firstWrong(c, inputs, rank, decode(c.dtype, bytes));
      if (problem) wrong.push(`${c.name} rank ${rank}: ${problem}`);
    });
    // Every rank holds the same bytes (reduceScatter: each its own block, checked above).
    if (c.kind !== 'reduceScatter' && results.some((bytes) => !bytes.equals(results[0]))) wrong.push(`${c.name}: ranks differ`);
  });
  expect(wrong).toEqual([]);
  expect(cases.length).toBeGreaterThan(150);
}

// ---- the tests ----

test('the reference rounds 16-bit sums once from float32, as promised (a check of the checker)', () => {
  const c: Case = { name: 'x', kind: 'allReduce', dtype: 'bfloat16', op: 'sum', n: 1 };
  // 1 + 2^-8 is a tie between 1 and 1 + 2^-7 in bfloat16: to even gives 1.
  expect(candidates(c, [1, 2 ** -8], 2)).toEqual([1]);
  expect(candidates({ ...c, dtype: 'float16' }, [2048, 1], 2)).toEqual([2048]);
  expect(candidates({ ...c, op: 'max' }, [0, -0], 2).map((x) => Object.is(x, 0))).toEqual([true]);
  expect(candidates({ ...c, op: 'min' }, [0, -0], 2).map((x) => Object.is(x, -0))).toEqual([true]);
  expect(firstWrong({ ...c, n: 1 }, [[1], [2 ** -8]], 0, [1.5])).toMatch(/element 0: got 1.5, expected 1 from 1, 0.00390625/);
});

test(`isAvailable never throws; NCCL reports that this build lacks CUDA ${mp.backend().cudaCompiled ? '' : '(CPU-only build)'}`.trim(), () => {
  expect(mp.distributed.isAvailable('gloo' as never)).toBe(false);
  expect(mp.distributed.isInitialized()).toBe(false);
  if (!mp.backend().cudaCompiled) {
    expect(mp.distributed.isAvailable('nccl')).toBe(false);
    expect(() => mp.distributed.initProcessGroup({ backend: 'nccl' })).toThrow(
      expect.objectContaining({ code: 'ERR_DISTRIBUTED_UNAVAILABLE', message: expect.stringMatching(/nccl.*without the CUDA toolkit/) }));
  }
  expect(() => mp.distributed.allReduce(mp.ones([2]))).toThrow(expect.objectContaining({ code: 'ERR_DISTRIBUTED_NOT_INITIALIZED' }));
  expect(() => mp.distributed.initProcessGroup({ backend: 'tcp' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  expect(() => mp.distributed.initProcessGroup({ timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG', name: 'RangeError' }));
});

const ncclHere = mp.distributed.isAvailable('nccl');
(ncclHere ? test.skip : test)(`the addon refuses an NCCL group by itself where NCCL is unavailable, before starting MPI${ncclHere ? ` ${skippedBecause('NCCL is available on this machine')}` : ''}`, () => {
  const reason = native.distAvailability('nccl').reason;
  expect(() => native.distInit({ backend: 'nccl', timeoutMs: 1000, onComplete: () => undefined })).toThrow(
    expect.objectContaining({ code: 'ERR_DISTRIBUTED_UNAVAILABLE', message: `mixprec distributed: initProcessGroup({backend: 'nccl'}): ${reason}` }));
  expect(mp.distributed.isInitialized()).toBe(false);
});

describeMpi(mpiTitle('collectives across 2 and 3 ranks under mpirun'), () => {
  const runs = new Map<number, { launch: Launch; out: string }>();
  beforeAll(() => {
    for (const size of [2, 3]) {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), `mixprec-dist${size}-`));
      runs.set(size, { launch: launch(size, 'collectivesRun.js', [out], { timeoutMs: 90_000 }), out });
    }
  });
  afterAll(() => {
    for (const { out } of runs.values()) fs.rmSync(out, { recursive: true, force: true });
  });

  for (const size of [2, 3]) {
    const checks = (name: string): Record<string, unknown>[] => {
      const found = runs.get(size)!.launch.checks.filter((c) => c.name === name);
      expect(found).toHaveLength(size);
      return found;
    };

    test(`${size} ranks: the launch ends cleanly (MPI finalized on every rank)`, () => {
      const { launch: l } = runs.get(size)!;
      expect({ status: l.status, tail: l.status === 0 ? '' : l.output.slice(-3000) }).toEqual({ status: 0, tail: '' });
      expect(checks('done')).toHaveLength(size);
      for (const c of checks('init')) expect(c).toMatchObject({ size, env: size, info: { backend: 'mpi', library: expect.stringMatching(/Open MPI/) } });
    });

    test(`${size} ranks: every collective, dtype and op matches the single-process reference (odd and zero sizes)`, () => {
      checkCollectives(size, runs.get(size)!.out);
    });

    test(`${size} ranks: before initProcessGroup and on bad arguments, clear errors and a usable group; lib/distributed's @examples run in a live group; a worker thread's exit leaves MPI running`, () => {
      for (const c of checks('beforeInit')) {
        for (const fn of ['allReduce', 'getRank', 'barrier']) expect(c[fn]).toMatchObject({ code: 'ERR_DISTRIBUTED_NOT_INITIALIZED', isMixprec: true });
      }
      for (const c of checks('docExamples')) expect(c.failures).toEqual([]);
      for (const c of checks('worker')) expect(c).toEqual(expect.objectContaining({ workerSaid: 'ERR_DISTRIBUTED', afterWorker: [size, size] }));
      for (const c of checks('init')) expect(c.twice).toMatchObject({ code: 'ERR_DISTRIBUTED', message: expect.stringMatching(/already exists/) });
      for (const c of checks('argumentErrors')) {
        expect(c).toMatchObject({
          avgInt: { code: 'ERR_INVALID_DTYPE', name: 'TypeError', message: expect.stringMatching(/allReduce.*options\.op.*int32/) },
          badOp: { code: 'ERR_INVALID_ARG', message: expect.stringMatching(/"prod"/) },
          boolTensor: { code: 'ERR_INVALID_DTYPE', message: expect.stringMatching(/bool/) },
          srcRange: { name: 'RangeError', message: expect.stringMatching(new RegExp(`src.*\\[0, ${size}\\).*got ${size}`)) },
          gatherSize: { code: 'ERR_SHAPE_MISMATCH', message: expect.stringMatching(new RegExp(`${size * 2} elements.*${size * 2 + 1} elements`)) },
          gatherList: { message: expect.stringMatching(/worldSize/) },
          scatterSize: { code: 'ERR_SHAPE_MISMATCH' },
          dtypes: { code: 'ERR_DTYPE_MISMATCH' },
          unknownKey: { message: expect.stringMatching(/opp/) },
          grad: { code: 'ERR_AUTOGRAD' },
          after: [size, size, size],
        });
      }
    });

    test(`${size} ranks: async collectives finish while JavaScript computes; promise() settles; disposed tensors stay alive until the end`, () => {
      for (const c of checks('async')) expect(c).toMatchObject({ completedAtOnce: false, completedAfter: true, correct: true });
      for (const c of checks('promise')) expect(c).toMatchObject({ value: size - 1, completed: true });
      for (const c of checks('disposeInFlight')) expect(c).toMatchObject({ leftBytes: 0, disposed: true });
    });

    test(`${size} ranks: mismatched numel, dtype or collective fails on every rank with ERR_DISTRIBUTED_MISMATCH naming both sides`, () => {
      for (const c of checks('mismatch')) {
        const rank = c.rank as number;
        const other = size === 2 ? 'the other rank' : 'other ranks from';
        expect(c).toMatchObject({
          numel: { code: 'ERR_DISTRIBUTED_MISMATCH', message: expect.stringMatching(new RegExp(`allReduce\\(float32, ${rank === 0 ? 8 : 7} elements.*rank ${rank} of ${size}.*elements: this rank ${rank === 0 ? 8 : 7}, ${other}`)) },
          later: { code: 'ERR_DISTRIBUTED_MISMATCH', message: expect.stringMatching(/broken/) },
          dtype: { code: 'ERR_DISTRIBUTED_MISMATCH', message: expect.stringMatching(new RegExp(`dtype: this rank ${rank === 0 ? 'float32' : 'float64'}`)) },
          kind: { code: 'ERR_DISTRIBUTED_MISMATCH', message: expect.stringMatching(new RegExp(`collective: this rank ${rank === 0 ? 'allReduce' : 'broadcast'}`)) },
          recovered: [size - 1, size - 1],
        });
      }
    });
  }
});

describeMpi(mpiTitle('failures end every rank instead of hanging'), () => {
  test('a rank that never calls the collective: the waiting rank throws ERR_DISTRIBUTED_TIMEOUT after timeoutMs (1500 ms), and later calls at once', () => {
    const l = launch(2, 'failureRun.js', ['timeout'], { timeoutMs: 30_000 });
    expect(l.checks).toEqual([expect.objectContaining({ rank: 0, code: 'ERR_DISTRIBUTED_TIMEOUT', message: expect.stringMatching(/allReduce\(float32, 10 elements.*within 1500 ms/) })]);
    expect(l.checks[0].ms).toBeGreaterThanOrEqual(1500);
    expect(l.checks[0].ms).toBeLessThan(1500 + 2000);
    expect(l.checks[0].later).toEqual({ code: 'ERR_DISTRIBUTED_TIMEOUT', ms: expect.any(Number) });
    expect((l.checks[0].later as { ms: number }).ms).toBeLessThan(100); // broken: no second wait
    expect(l.status).not.toBe(0);
    expect(l.ms).toBeLessThan(20_000);
  });

  test('a rank killed mid-training: the survivor ends non-zero within the timeout (our error or mpirun\'s notice)', () => {
    const l = launch(2, 'failureRun.js', ['kill'], { timeoutMs: 30_000 });
    expect(l.status).not.toBe(0);
    expect(l.signal).toBeNull(); // mpirun itself ended, not our 30 s guard
    expect(l.output).toMatch(/ERR_DISTRIBUTED|exited on signal 9|mpirun noticed/);
    expect(l.ms).toBeLessThan(5000 + 10_000);
  });

  test('Ctrl-C: SIGINT to mpirun ends every rank, including one blocked in a collective', () => {
    const token = `sigint-${process.pid}-${Date.now()}`;
    const l = launch(2, 'failureRun.js', ['sigint', token], { timeoutMs: 5000, killSignal: 'SIGINT' });
    expect(l.output).toMatch(/READY 0/);
    expect(l.output).toMatch(/READY 1/);
    expect(l.checks).toEqual([]); // rank 0 was still waiting (its timeout is 60 s) when the signal came
    expect(l.ms).toBeLessThan(5000 + 10_000);
    const survivors = fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(token);
      } catch {
        return false;
      }
    });
    expect(survivors).toEqual([]);
  });
});
