#!/usr/bin/env bash
# The figures in models/README.md, each from the command shown beside it. Run after
# tools/train_default.sh; writes models/default-fp32.onnx, models/default.onnx (its int8
# copy, what plays) and runs/figures/*.txt.
#   tools/model_card_figures.sh [export|default|bench|music|edm]...  (default: all)
# EDM_DATA points at the study's 73 melodies (default ../shared/data/seed-edm); models
# trained on them stay in runs/ (never committed, never shipped).
set -eu
cd "$(dirname "$0")/.."
encore=.venv/bin/encore
corpus=runs/beat/corpus.npz
edm_data=${EDM_DATA:-../shared/data/seed-edm}
edm_minutes=${EDM_MINUTES:-10}
out=runs/figures
mkdir -p "$out"

step() {  # step NAME COMMAND...: run it, show it, keep it
    local name=$1; shift
    echo "\$ $*" | tee "$out/$name.txt"
    "$@" 2>&1 | tee -a "$out/$name.txt"
}

run_export() {
    step export-default $encore export runs/beat/run -o models/default-fp32.onnx
    step quantize-default $encore quantize models/default-fp32.onnx -o models/default.onnx
}

run_default() {
    step default-test $encore evaluate models/default.onnx $corpus --split test --baseline ngram
    step default-fp32-test $encore evaluate models/default-fp32.onnx $corpus --split test
}

run_bench() {
    step bench $encore bench --model models/default.onnx --model models/default-fp32.onnx --steps 5000
}

run_music() {
    step music $encore musicstats models/default.onnx $corpus --split test --minutes 5 --temperature 1.0 \
        --random-seed 0 --renders 5
    step music-own-rhythm $encore musicstats models/default.onnx $corpus --split test --minutes 5 \
        --temperature 1.0 --random-seed 0 --renders 5 --grid off
    for bpm in 100 128 150; do  # the grid share at three tempos, from the written files' own tempo maps
        $encore render --bpm $bpm --bars 128 --random-seed 1 -o "$out/render-$bpm.mid" --quiet
        step "music-$bpm" $encore musicstats "$out/render-$bpm.mid"
    done
    step music-edm $encore musicstats "$edm_data"
}

run_edm() {
    local edm=runs/edm-beats
    mkdir -p $edm
    [ -f $edm/corpus.npz ] || step edm-corpus $encore corpus build "$edm_data" --seed 0 -o $edm/corpus.npz --quiet
    step edm-a-default $encore evaluate models/default.onnx $edm/corpus.npz --split test --baseline ngram
    # (b) from scratch and (c) the default fine-tuned, side by side, one core each
    [ -f $edm/scratch/best.pt ] || $encore train $edm/corpus.npz -o $edm/scratch \
        --minutes "$edm_minutes" --threads 1 --quiet > $edm/train-scratch.log 2>&1 &
    [ -f $edm/tuned/best.pt ] || $encore train $edm/corpus.npz --init default -o $edm/tuned \
        --lr 5e-4 --minutes "$edm_minutes" --threads 1 --quiet > $edm/train-tuned.log 2>&1 &
    wait
    $encore export $edm/scratch -o $edm/scratch.onnx
    $encore export $edm/tuned -o $edm/tuned.onnx
    step edm-b-scratch $encore evaluate $edm/scratch.onnx $edm/corpus.npz --split test
    step edm-c-tuned $encore evaluate $edm/tuned.onnx $edm/corpus.npz --split test
}

for part in "${@:-export default bench music edm}"; do
    for name in $part; do "run_$name"; done
done
