#!/usr/bin/env bash
# Sets up the PyTorch columns of `npm run bench` (docs/benchmarks.md), offline:
#   1. PyTorch 2.14.1 from the machine's local wheel folder into .venv-torch/ (a venv over Debian's
#      Python 3.11 with its system site packages), with the NVIDIA library wheels it links (it loads
#      them even on a CPU-only run) and a small overlay of typing_extensions / sympy / mpmath, because
#      Debian's are older than torch 2.14 imports (it needs typing_extensions.deprecated, sympy >= 1.13.3);
#   2. Debian's python3-torch (1.13) into the system Python, the second column (skip with --no-apt).
# Optional: never part of npm install or npm test. Usage: bash bench/setup-torch.sh [--no-apt]
#   MIXPREC_WHEEL_DIRS   folders searched for wheels, ':'-separated (default /opt/pypi-more/files:/opt/pypi/files)
#   MIXPREC_TORCH_VENV   the venv (default .venv-torch, which the bench looks for)
set -euo pipefail
cd "$(dirname "$0")/.."

apt=1
[ "${1:-}" = --no-apt ] && apt=0
venv=${MIXPREC_TORCH_VENV:-.venv-torch}
wheel_dirs=${MIXPREC_WHEEL_DIRS:-/opt/pypi-more/files:/opt/pypi/files}
python=/usr/bin/python3
cuda_lib=${CUDA_HOME:-/usr/local/cuda}/lib64

die() { echo "setup-torch: $*" >&2; exit 1; }

# The newest wheel matching a glob in the wheel folders (version order), or nothing.
wheel() {
  local d
  for d in ${wheel_dirs//:/ }; do ls "$d"/$1 2>/dev/null || true; done | sort -V | tail -n 1
}
need() {
  local w
  w=$(wheel "$1")
  [ -n "$w" ] || die "no wheel $1 in $wheel_dirs (set MIXPREC_WHEEL_DIRS)"
  echo "$w"
}

if [ "$apt" = 1 ]; then
  # numpy, filelock, jinja2, networkx and fsspec from Debian are new enough for torch 2.14 too.
  debs="python3-torch python3-numpy python3-filelock python3-jinja2 python3-networkx python3-fsspec"
  apt-cache policy python3-torch 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq
  echo "setup-torch: apt-get install $debs"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $debs >/dev/null
fi

"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' || die "$python is not Python 3.11 (the wheel is cp311)"
torch_wheel=$(wheel 'torch-2.14.1-cp311-*.whl')
[ -n "$torch_wheel" ] || torch_wheel=$(find / -xdev -name 'torch-2.14.1-cp311-*.whl' -print -quit 2>/dev/null)
[ -n "$torch_wheel" ] || die "no torch-2.14.1-cp311 wheel found (searched $wheel_dirs, then /)"
wheel_dirs="$(dirname "$torch_wheel"):$wheel_dirs"

# The CUDA runtime is the one library the NVIDIA wheels here lack: nvcc's copy serves, found through
# the loader's cache or $CUDA_HOME/lib64 (bench/suite/torchAnchor.js adds that to LD_LIBRARY_PATH).
ldconfig -p | grep -q 'libcudart.so.13 ' || [ -e "$cuda_lib/libcudart.so.13" ] \
  || die "libcudart.so.13 is neither in the loader's cache nor in $cuda_lib (set CUDA_HOME)"

nvidia=()
for name in nvidia_cublas nvidia_cuda_nvrtc nvidia_cudnn_cu13 nvidia_cufft nvidia_cufile nvidia_curand \
    nvidia_cusolver nvidia_cusparse nvidia_cusparselt_cu13 nvidia_nccl_cu13 nvidia_nvjitlink nvidia_nvshmem_cu13; do
  nvidia+=("$(need "$name-[0-9]*.whl")")
done
overlay=("$(need 'typing_extensions-4.1[0-9]*.whl')" "$(need 'sympy-1.1[4-9]*.whl')" "$(need 'mpmath-1.3.*.whl')")

[ -x "$venv/bin/python" ] || "$python" -m venv --system-site-packages "$venv"
echo "setup-torch: installing $(basename "$torch_wheel"), ${#nvidia[@]} NVIDIA library wheels and ${overlay[*]##*/} into $venv (about 4 GB, a few minutes)"
"$venv/bin/pip" install --no-index --no-deps --disable-pip-version-check -q "$torch_wheel" "${nvidia[@]}" "${overlay[@]}"

check='import sys, torch; print(torch.__version__, "in", sys.executable, "- randn(2) @ randn(2) =", float(torch.randn(2) @ torch.randn(2)))'
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$cuda_lib
first=$("$venv/bin/python" -c "$check") || die "import torch fails in $venv (see above)"
echo "setup-torch: first column:  torch $first"
if [ "$apt" = 1 ]; then
  second=$("$python" -c "$check") || die "import torch fails in $python (Debian's python3-torch; see above)"
  echo "setup-torch: second column: torch $second"
fi
