#!/usr/bin/env bash
# The figures in models/README.md, each from the command shown beside it. Run after
# tools/train_default.sh; writes models/default-fp32.onnx, models/default.onnx (its int8
# copy, what plays) and runs/figures/*.txt.
#   tools/model_card_figures.sh [export|default|seed|bench|music|edm]...  (default: all)
# EDM_DATA points at the study's 73 melodies (default ../shared/data/seed-edm); models
# trained on them stay in runs/ (never committed, never shipped).
set -eu
cd "$(dirname "$0")/.."
encore=.venv/bin/encore
corpus=runs/default/corpus.npz
edm_data=${EDM_DATA:-../shared/data/seed-edm}
edm_minutes=${EDM_MINUTES:-20}
cap=${SEED_CAP:-20000}  # the window model costs a 50-event pass per event: score the first pieces
out=runs/figures
mkdir -p "$out"

step() {  # step NAME COMMAND...: run it, show it, keep it
    local name=$1; shift
    echo "\$ $*" | tee "$out/$name.txt"
    "$@" 2>&1 | tee -a "$out/$name.txt"
}

run_export() {
    step export-default $encore export runs/default/stream -o models/default-fp32.onnx
    step quantize-default $encore quantize models/default-fp32.onnx -o models/default.onnx
    step export-seed $encore export runs/default/seed -o runs/default/seed.onnx
}

run_default() {
    step default-test $encore evaluate models/default.onnx $corpus --split test --baseline ngram
    step default-fp32-test $encore evaluate models/default-fp32.onnx $corpus --split test
}

run_seed() {
    step seed-test $encore evaluate runs/default/seed.onnx $corpus --split test --max-events "$cap"
    step default-test-capped $encore evaluate models/default.onnx $corpus --split test --max-events "$cap" \
        --baseline ngram
}

run_bench() {
    step bench $encore bench --model models/default.onnx --model models/default-fp32.onnx \
        --model runs/default/seed.onnx --steps 5000
}

run_music() {
    step music $encore musicstats models/default.onnx $corpus --split test --minutes 5 --temperature 1.0 \
        --random-seed 0 --renders 10
    step music-fp32 $encore musicstats models/default-fp32.onnx $corpus --split test --minutes 5 \
        --temperature 1.0 --random-seed 0 --renders 10
}

run_edm() {
    local edm=runs/edm
    mkdir -p $edm
    [ -f $edm/corpus.npz ] || step edm-corpus $encore corpus build "$edm_data" --seed 0 -o $edm/corpus.npz --quiet
    step edm-a-default $encore evaluate models/default.onnx $edm/corpus.npz --split test --baseline ngram
    # (b) the study's setup from scratch and (c) the default fine-tuned, side by side, one core each
    [ -f $edm/seed/best.pt ] || $encore train $edm/corpus.npz --arch seed -o $edm/seed \
        --minutes "$edm_minutes" --threads 1 --quiet > $edm/train-seed.log 2>&1 &
    [ -f $edm/tuned/best.pt ] || $encore train $edm/corpus.npz --init default -o $edm/tuned \
        --lr 5e-4 --minutes "$edm_minutes" --threads 1 --quiet > $edm/train-tuned.log 2>&1 &
    wait
    $encore export $edm/seed -o $edm/seed.onnx
    $encore export $edm/tuned -o $edm/tuned.onnx
    step edm-b-seed $encore evaluate $edm/seed.onnx $edm/corpus.npz --split test
    step edm-c-tuned $encore evaluate $edm/tuned.onnx $edm/corpus.npz --split test
}

for part in "${@:-export default seed bench music edm}"; do
    for name in $part; do "run_$name"; done
done
