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
  echo "== NCCL engine, one rank (libnccl.so.2, else the pip wheel's through MIXPREC_NCCL_LIBRARY)"
  if [ -z "${MIXPREC_NCCL_LIBRARY:-}" ] && ! ldconfig -p | grep -q 'libnccl\.so\.2 '; then
    wheelNccl="$(python3 -c 'import os, nvidia.nccl as n; print(os.path.join(list(n.__path__)[0], "lib", "libnccl.so.2"))' 2>/dev/null)"
    if [ -n "$wheelNccl" ] && [ -f "$wheelNccl" ]; then export MIXPREC_NCCL_LIBRARY="$wheelNccl"; fi
  fi
  echo "MIXPREC_NCCL_LIBRARY=${MIXPREC_NCCL_LIBRARY:-(unset: libnccl.so.2 through the loader)}"
  if command -v mpirun >/dev/null; then timeout 300 mpirun --allow-run-as-root -np 1 "$NODE" test/gpu/ncclCheck.js
  else timeout 300 "$NODE" test/gpu/ncclCheck.js; fi
  echo "== mixprec cast throughput (cuda)"; "$NODE" bench/cast.js --device cuda --mib 256
  echo "== mixprec cast throughput (cuda, json)"; "$NODE" bench/cast.js --device cuda --mib 256 --json
  echo "== PyTorch cast throughput (same sizes)"; python3 bench/torchCast.py 256 15
  echo "== PyTorch MNIST reference (same digits, models, hyper-parameters as examples/mnist.ts)"
  if [ -d .gpu/mnist ]; then python3 bench/torchMnist.py .gpu/mnist 0,1,2,3,4,5,6,7
  else echo "no .gpu/mnist: run 'node bench/mnistExport.js' on the build machine before the GPU run"; fi
} 2>&1 | tee "$out/gpu.log"
