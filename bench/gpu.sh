#!/usr/bin/env bash
# One GPU session's checks, run from the repository root on the device machine (see
# DEVELOPERS.md): the CUDA correctness checks, mixprec's GPU cast throughput, and PyTorch's on
# the same sizes, and PyTorch's MNIST accuracy on mixprec's digits. Expects a CUDA-enabled build/ and dist/ made beforehand on the build machine,
# and Node carried as .gpu/node.xz. Logs go to $OUT (or ./gpu-out).
set -uo pipefail
out="${OUT:-gpu-out}"
mkdir -p "$out"
if [ ! -x .gpu/node ]; then xz -dk .gpu/node.xz && chmod +x .gpu/node; fi
NODE="$PWD/.gpu/node"
{
  echo "== machine"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; "$NODE" --version
  echo "== backend"; "$NODE" -e "console.log(require('./dist').backend())"
  echo "== CUDA checks"; "$NODE" test/gpu/cudaChecks.js
  echo "== CPU checks with this binary (casts, ops)"; "$NODE" -e "
    const mp = require('./dist');
    const x = mp.tensor([0.1, 65520, -2.5, 1e-8]);
    console.log(Array.from(x.to('float16').rawData()), Array.from(x.to('bfloat16').rawData()));"
  echo "== NCCL loader (libnccl.so.2 or MIXPREC_NCCL_LIBRARY; the collectives engine is not implemented)"
  "$NODE" -e "const mp = require('./dist'); try { mp.distributed.initProcessGroup({ backend: 'nccl' }); } catch (e) { console.log(e.code, e.message); }"
  echo "== mixprec cast throughput (cuda)"; "$NODE" bench/cast.js --device cuda --mib 256
  echo "== mixprec cast throughput (cuda, json)"; "$NODE" bench/cast.js --device cuda --mib 256 --json
  echo "== PyTorch cast throughput (same sizes)"; python3 bench/torchCast.py 256 15
  echo "== PyTorch MNIST reference (same digits, models, hyper-parameters as examples/mnist.ts)"
  if [ -d .gpu/mnist ]; then python3 bench/torchMnist.py .gpu/mnist 0,1,2,3,4,5,6,7
  else echo "no .gpu/mnist: run 'node bench/mnistExport.js' on the build machine before the GPU run"; fi
} 2>&1 | tee "$out/gpu.log"
