#!/usr/bin/env bash
# On a lent GPU machine, from the repo root: the Triton kernel tests compiled for the GPU (bf16 included), the
# stage-by-stage profile at N=32k, D=256, the kernel benchmark (pass --quick for InfoNCE at 4k and 32k x 256, the 2N
# form at 32k and the heads at S=16k; --targets for the target shapes alone: InfoNCE N=32k D=256 and the head
# S=16k V=65536, run before the profile, and of the profile only the whole step), then the medical suite's smoke
# preset on CUDA (bf16 autocast) when its wheels were installed on PYTHONPATH. The package ships the row kernels; the
# variants never timed on a GPU are on the kernels-experimental branch (docs/kernels.md), with this script's
# version that times them.
# Usage: OUT=DIR bash benchmarks/kernels/gpu_kernels.sh [--quick | --targets]
set -uo pipefail
export PYTHONPATH=$PWD/shared_core/src:$PWD/packages/medical/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export SELFSUP_CACHE=/tmp/selfsup-cache
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
SELFSUP_TRITON_AUTOTUNE=0 python3 -m pytest -q -p no:cacheprovider shared_core/tests/test_kernels_contrastive.py \
    shared_core/tests/test_kernels_self_lse.py shared_core/tests/test_kernels_unit_pair.py \
    shared_core/tests/test_kernels_prototype_head.py shared_core/tests/test_kernels_fp16.py 2>&1 \
    | tee "$OUT/kernels-pytest.txt" | tail -3
profile() {
    python3 benchmarks/kernels/profile_contrastive.py --n 32768 --d 256 "$@" 2>&1 | tee "$OUT/kernels-profile.txt"
}
bench() {
    python3 benchmarks/kernels/bench_kernels.py --device cuda --output "$OUT" "$@" 2>&1 \
        | tee "$OUT/kernels-bench-log.txt" | grep -v '^{'
}
if [[ " $* " == *" --targets "* ]]; then  # short loans: the target table first, then the whole step
    bench "$@"
    profile --step-only
else
    profile
    bench "$@"
fi
if python3 -c "import monai, nilearn" 2>/dev/null; then
    python3 -m selfsup.medical.bench --preset smoke --device cuda --quiet --output "$OUT/medical-smoke" 2>&1 \
        | tee "$OUT/medical-smoke-log.txt" | grep -v '^|'
fi
