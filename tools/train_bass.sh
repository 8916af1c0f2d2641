#!/usr/bin/env bash
# The bass voice's model (issue 18), as models/README.md reports it: the bass lines of the
# Bach chorales in music21 (public domain), in beats and in 4/4, and a 1 x 256 stream
# model on them (two minutes on two cores), exported and quantized to models/bass.onnx.
# runs/ is not committed.   tools/train_bass.sh
set -eu
cd "$(dirname "$0")/.."
mkdir -p runs/bass
[ -f runs/bass/corpus44.npz ] || .venv/bin/encore corpus build music21:bachBass --meter 4/4 --seed 0 --jobs 2 \
    --quiet -o runs/bass/corpus44.npz
.venv/bin/encore train runs/bass/corpus44.npz -o runs/bass/run --layers 1 --hidden 256 --embed 64 \
    --patience 8 --minutes 20 --threads 2 --seed 0 --quiet
.venv/bin/encore export runs/bass/run -o runs/bass/bass-fp32.onnx
.venv/bin/encore quantize runs/bass/bass-fp32.onnx -o models/bass.onnx
.venv/bin/encore evaluate models/bass.onnx runs/bass/corpus44.npz
