// The NCCL loader (csrc/distributed/ncclLibrary.cpp), as isAvailable('nccl') and
// initProcessGroup({backend: 'nccl'}) report it. NCCL is loaded once per process, so each case
// runs in a child node process with its own MIXPREC_NCCL_LIBRARY. The real library comes from
// NVIDIA's wheel when this machine has it (/opt/pypi-more/files/nvidia_nccl_cu*-*.whl; its
// file name gives the version we expect NCCL to report). Three child processes plus a one-time
// extraction of the wheel's libnccl.so.2 (250 MB): about 5 s here, 2 s once extracted.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as mp from '../lib';
import { skippedBecause } from './helpers/skipReason';

const wheelDir = '/opt/pypi-more/files';
const wheelPattern = /^nvidia_nccl_cu\d+-(\d+\.\d+\.\d+)-.*\.whl$/;

/** The wheel's libnccl.so.2, extracted once into the temp folder, and the version its name gives. */
function wheelLibrary(): { file: string; version: string } | { skip: string } {
  const wheel = fs.existsSync(wheelDir) ? fs.readdirSync(wheelDir).find((name) => wheelPattern.test(name)) : undefined;
  if (!wheel) return { skip: `no NVIDIA NCCL wheel (${wheelDir}/nvidia_nccl_cu*-*.whl) on this machine` };
  const version = wheelPattern.exec(wheel)![1];
  const dir = path.join(os.tmpdir(), `mixprec-nccl-${version}`);
  const file = path.join(dir, 'nvidia', 'nccl', 'lib', 'libnccl.so.2');
  if (!fs.existsSync(file)) {
    const script = 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("nvidia/nccl/lib/libnccl.so.2", sys.argv[2])';
    const r = spawnSync('python3', ['-c', script, path.join(wheelDir, wheel), dir], { encoding: 'utf8' });
    if (r.status !== 0) return { skip: `cannot extract libnccl.so.2 from ${wheel} with python3: ${r.stderr || r.error?.message}` };
  }
  return { file, version };
}

interface Report {
  available: boolean;
  code?: string;
  message?: string;
}

/** isAvailable('nccl') and initProcessGroup's error in a fresh process with MIXPREC_NCCL_LIBRARY = `library`. */
function reportWith(library: string): Report {
  const lib = JSON.stringify(path.join(__dirname, '..', 'dist'));
  const script = `const mp = require(${lib});
    const out = { available: mp.distributed.isAvailable('nccl') };
    try { mp.distributed.initProcessGroup({ backend: 'nccl' }); } catch (e) { out.code = e.code; out.message = e.message; }
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, MIXPREC_NCCL_LIBRARY: library } });
  if (r.status !== 0) throw new Error(`the child process failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Report;
}

const cudaCompiled = mp.backend().cudaCompiled;
const withoutCuda = /nccl.*NCCL needs the CUDA backend.*built without the CUDA toolkit/;
const buildNote = cudaCompiled ? '' : ' (CPU-only build: every case reports the missing CUDA backend)';

test(`a bad MIXPREC_NCCL_LIBRARY path is named with dlerror's words${buildNote}`, () => {
  const missing = path.join(os.tmpdir(), 'no-such-dir', 'libnccl.so.2');
  const r = reportWith(missing);
  expect(r.available).toBe(false);
  expect(r.code).toBe('ERR_DISTRIBUTED_UNAVAILABLE');
  if (!cudaCompiled) return expect(r.message).toMatch(withoutCuda);
  expect(r.message).toContain(`NCCL could not be loaded from MIXPREC_NCCL_LIBRARY=${missing} (${missing}: cannot open shared object file: No such file or directory)`);
});

test(`a library that is not NCCL is refused, naming the first missing symbol${buildNote}`, () => {
  const r = reportWith('libm.so.6');
  expect(r.available).toBe(false);
  if (!cudaCompiled) return expect(r.message).toMatch(withoutCuda);
  expect(r.message).toMatch(/\/libm\.so\.6 lacks ncclGetVersion: it is not NCCL, or an NCCL older than 2\.10$/);
});

const wheel = wheelLibrary();
const wheelTest = 'skip' in wheel ? test.skip : test;
wheelTest(`NVIDIA's wheel loads and its version is read${'skip' in wheel ? ` ${skippedBecause(wheel.skip)}` : buildNote}`, () => {
  if ('skip' in wheel) return;
  const r = reportWith(wheel.file);
  if (cudaCompiled && mp.backend().cudaDeviceCount > 0) {
    // A GPU machine: NCCL is usable, and a process started alone makes a group of one.
    expect(r).toEqual({ available: true });
    return;
  }
  expect(r.available).toBe(false);
  expect(r.code).toBe('ERR_DISTRIBUTED_UNAVAILABLE');
  if (!cudaCompiled) return expect(r.message).toMatch(withoutCuda);
  expect(r.message).toContain(`NCCL ${wheel.version} (${wheel.file}) loaded, but there is no CUDA device to run it on: `);
});
