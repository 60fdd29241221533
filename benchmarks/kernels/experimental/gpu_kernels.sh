#!/usr/bin/env bash
# On a lent GPU machine, from the repo root: the Triton kernel tests compiled for the GPU (bf16 included), the
# stage-by-stage profile at N=32k, D=256 (row kernels vs the one-pass / fused / symmetric variants), the kernel
# benchmark (pass --quick for InfoNCE at 4k and 32k x 256, the 2N form at 32k and the heads at S=16k; --targets for
# the target shapes alone: InfoNCE N=32k D=256 and the head S=16k V=65536, run before the profile, and of the
# profile only the whole step per variant, the configurations the autotuners kept and the gemm backward's cuBLAS
# GEMM), the warp-specialized row kernels (not with --targets; their tests and profile_warp_specialized.py, under
# timeouts), then the medical suite's smoke preset on CUDA (bf16 autocast) when its wheels were installed on PYTHONPATH.
# --warp-specialized: only the warp-specialized step (a second call after --targets on a short loan).
# Usage: OUT=DIR bash benchmarks/kernels/gpu_kernels.sh [--quick | --targets | --warp-specialized]
set -uo pipefail
export PYTHONPATH=$PWD/shared_core/src:$PWD/packages/medical/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export SELFSUP_CACHE=/tmp/selfsup-cache SELFSUP_TRITON_PRINT_CHOICES=1  # "auto" prints its timings
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
# The warp-specialized row kernels, never run on a GPU before: under timeouts, so that a kernel that hangs costs only
# this step (their tests compiled for the GPU, then the profile: agreement with the row kernels first, their times,
# and the whole step with them).
warp_specialized() {
    SELFSUP_TRITON_AUTOTUNE=0 timeout 120 python3 -m pytest -q -p no:cacheprovider -k "-ws or warp_specialized" \
        shared_core/tests/test_kernels_contrastive.py shared_core/tests/test_kernels_warp_specialized.py 2>&1 \
        | tee "$OUT/kernels-warp-specialized-pytest.txt" | tail -3
    timeout 300 python3 benchmarks/kernels/profile_warp_specialized.py --n 32768 --d 256 2>&1 \
        | tee "$OUT/kernels-warp-specialized.txt" | grep -v '^ *$' | tail -40
}
if [[ " $* " == *" --warp-specialized "* ]]; then
    warp_specialized
    exit
fi
SELFSUP_TRITON_AUTOTUNE=0 python3 -m pytest -q -p no:cacheprovider shared_core/tests/test_kernels_contrastive.py \
    shared_core/tests/test_kernels_self_lse.py shared_core/tests/test_kernels_unit_pair.py \
    shared_core/tests/test_kernels_prototype_head.py shared_core/tests/test_kernels_fp16.py \
    shared_core/tests/test_kernels_algorithm_tuner.py -k "not -ws" 2>&1 | tee "$OUT/kernels-pytest.txt" | tail -3
profile() {
    python3 benchmarks/kernels/profile_contrastive.py --n 32768 --d 256 "$@" 2>&1 | tee "$OUT/kernels-profile.txt"
}
bench() {
    python3 benchmarks/kernels/bench_kernels.py --device cuda --output "$OUT" "$@" 2>&1 \
        | tee "$OUT/kernels-bench-log.txt" | grep -v '^{'
}
if [[ " $* " == *" --targets "* ]]; then  # short loans: the target table first, then the whole step per variant
    bench "$@"
    profile --step-only  # the warp-specialized step has its own call (--warp-specialized)
else
    profile
    bench "$@"
    warp_specialized
fi
if python3 -c "import monai, nilearn" 2>/dev/null; then
    python3 -m selfsup.medical.bench --preset smoke --device cuda --quiet --output "$OUT/medical-smoke" 2>&1 \
        | tee "$OUT/medical-smoke-log.txt" | grep -v '^|'
fi
