#!/usr/bin/env bash
# SimCLR, ResNet-18 (CIFAR stem), batch 512, on the CIFAR-10 JPEG pack: as many epochs as fit one
# 10-minute device call. A 3-epoch probe measures seconds per epoch; the main run takes the rest.
# Usage (device machine, repo root): DATA=.data/vision OUT=... bash benchmarks/vision/gpu_simclr.sh
set -euo pipefail
export PYTHONPATH=$PWD/shared_core/src:$PWD/packages/vision/src SELFSUP_CACHE=/tmp/selfsup-cache
BUDGET_S=${BUDGET_S:-430}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 benchmarks/vision/gpu_check.py
python3 -m selfsup.vision.bench --preset gpu --methods simclr --epochs 3 --no-baselines --quiet \
    --data-root "$DATA" --output "$OUT/probe" | grep -v '^|' || true
EPOCHS=$(python3 -c "import json; r = json.load(open('$OUT/probe/results.json'))['rows'][0]; \
print(max(3, int($BUDGET_S / r['s_per_epoch'])))")
echo "probe: $(python3 -c "import json; print(json.load(open('$OUT/probe/results.json'))['rows'][0]['s_per_epoch'])") s/epoch -> $EPOCHS epochs"
python3 -m selfsup.vision.bench --preset gpu --methods simclr --epochs "$EPOCHS" --quiet --data-root "$DATA" \
    --output "$OUT/simclr"
