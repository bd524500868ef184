// The NCCL engine on one GPU, one rank (`mpirun -np 1 node test/gpu/ncclCheck.js`, or plain
// `node`: a process started alone is a world of one). NCCL (2.30 by default) refuses two ranks on
// one device, so a single GPU runs one rank, and with one rank every collective's result is its
// input: allReduce (sum, avg, max, min), broadcast, allGather and reduceScatter must give back
// the CPU tensor bit for bit, for float32, float16 and bfloat16 (and float64 and int32 for
// allReduce), in the synchronous and the async form. That checks the plumbing the engine owns:
// the device pointers and counts handed to NCCL, the NCCL stream's wait for the compute stream
// (a kernel queued just before the collective must be in its input), completion, errors.
// Plain JS over dist/ with node:assert, like cudaChecks.js. Prints every check it ran; exits
// 0 with a line saying why where NCCL is unavailable.
'use strict';
const assert = require('node:assert/strict');
const mp = require('../../dist');

const dtypes = ['float32', 'float16', 'bfloat16'];
const sizes = [0, 1, 7, 4099, 1 << 20];

function values(n, seed) {
  const out = new Float64Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 32 - 0.5) * 200;
  }
  return out;
}

/** A CPU tensor of `n` values in `dtype` (int32: rounded). */
function cpuTensor(n, dtype, seed) {
  const v = values(n, seed);
  return mp.tensor(dtype === 'int32' ? Int32Array.from(v, Math.round) : Float32Array.from(v)).to(dtype);
}

function sameBits(what, gpu, cpu) {
  assert.equal(gpu.device.type, 'cuda', `${what}: the result left the GPU`);
  const bytes = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
  const got = bytes(gpu.cpu().rawData());
  const want = bytes(cpu.rawData());
  assert.ok(got.equals(want), `${what}: differs from the CPU tensor`);
}

const d = mp.distributed;

const checks = {
  'allReduce sum, avg, max, min (sync and async) give the input back bit for bit'() {
    for (const dtype of [...dtypes, 'float64', 'int32']) {
      for (const n of sizes) {
        for (const op of dtype === 'int32' ? ['sum', 'max', 'min'] : ['sum', 'avg', 'max', 'min']) {
          mp.tidy(() => {
            const cpu = cpuTensor(n, dtype, n + 1);
            const gpu = cpu.to('cuda');
            d.allReduce(gpu, { op });
            sameBits(`allReduce ${dtype} n=${n} ${op}`, gpu, cpu);
            const again = cpu.to('cuda');
            d.allReduce(again, { op, async: true }).wait();
            sameBits(`allReduce async ${dtype} n=${n} ${op}`, again, cpu);
          });
        }
      }
    }
  },

  'the collective reads what the kernel queued just before it wrote (NCCL stream waits for the compute stream)'() {
    for (const dtype of dtypes) {
      mp.tidy(() => {
        const cpu = cpuTensor(1 << 22, dtype, 5);
        const doubled = cpu.to('cuda').mul(2); // queued on the compute stream, not yet run
        d.allReduce(doubled, { async: true }).wait();
        sameBits(`allReduce after mul ${dtype}`, doubled, cpu.mul(2));
      });
    }
  },

  'broadcast from rank 0 gives the tensor back'() {
    for (const dtype of dtypes) {
      for (const n of sizes) {
        mp.tidy(() => {
          const cpu = cpuTensor(n, dtype, 2 * n + 3);
          const gpu = cpu.to('cuda');
          d.broadcast(gpu, { src: 0 });
          sameBits(`broadcast ${dtype} n=${n}`, gpu, cpu);
        });
      }
    }
  },

  'allGather into one tensor and into a list gives the input'() {
    for (const dtype of dtypes) {
      for (const n of sizes) {
        mp.tidy(() => {
          const cpu = cpuTensor(n, dtype, 3 * n + 7);
          const out = mp.empty([n], { dtype, device: 'cuda' });
          d.allGather(out, cpu.to('cuda'));
          sameBits(`allGather ${dtype} n=${n}`, out, cpu);
          const list = [mp.empty([n], { dtype, device: 'cuda' })];
          d.allGather(list, cpu.to('cuda'));
          sameBits(`allGather list ${dtype} n=${n}`, list[0], cpu);
        });
      }
    }
  },

  'reduceScatter sum and avg give the input'() {
    for (const dtype of dtypes) {
      for (const n of sizes) {
        for (const op of ['sum', 'avg']) {
          mp.tidy(() => {
            const cpu = cpuTensor(n, dtype, 5 * n + 11);
            const out = mp.empty([n], { dtype, device: 'cuda' });
            d.reduceScatter(out, cpu.to('cuda'), { op });
            sameBits(`reduceScatter ${dtype} n=${n} ${op}`, out, cpu);
          });
        }
      }
    }
  },

  'barrier completes, and a CPU tensor is refused with the device named'() {
    d.barrier();
    assert.throws(() => d.allReduce(mp.ones([3])), (e) => e.code === 'ERR_DEVICE_MISMATCH' && /is on cpu/.test(e.message) && /CUDA/.test(e.message));
  },
};

module.exports = { checks };

if (require.main === module) {
  if (!d.isAvailable('mpi')) {
    console.log('MPI unavailable, nothing checked: NCCL groups take their rank and id from MPI (install openmpi-bin / libopenmpi-dev)');
  } else if (!d.isAvailable('nccl')) {
    try {
      d.initProcessGroup({ backend: 'nccl' });
      console.log('FAIL isAvailable(\'nccl\') is false, yet initProcessGroup succeeded');
      process.exitCode = 1;
    } catch (e) {
      console.log(`NCCL unavailable, nothing checked: ${e.code}: ${e.message}`);
    }
  } else {
    d.initProcessGroup({ backend: 'nccl', timeoutMs: 60_000 });
    const info = d.getBackendInfo();
    console.log(`NCCL group: rank ${d.getRank()} of ${d.getWorldSize()}, ${info.library}`);
    console.log(`sizes ${sizes.join(', ')} elements; dtypes ${dtypes.join(', ')} (allReduce also float64, int32)`);
    let failed = 0;
    for (const [name, fn] of Object.entries(checks)) {
      try {
        fn();
        console.log(`ok   ${name}`);
      } catch (e) {
        failed += 1;
        console.log(`FAIL ${name}\n${e && e.stack}`);
      }
    }
    d.destroyProcessGroup();
    console.log(`${Object.keys(checks).length - failed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  }
}
