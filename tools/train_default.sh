#!/usr/bin/env bash
# The default model (issue 4), as models/README.md reports it: build the public-domain
# corpus, then train the default stream model and, beside it on the other core with the
# same wall-clock budget, the study's architecture (--arch seed). Resumable: run it again
# and it skips a built corpus and resumes each run from its last.pt. runs/ is not committed.
#   nohup tools/train_default.sh > runs/default/pipeline.log 2>&1 &
#   MINUTES=90 (per session, per run)
set -u
cd "$(dirname "$0")/.."
minutes=${MINUTES:-90}
mkdir -p runs/default
if [ ! -f runs/default/corpus.npz ]; then
    .venv/bin/encore corpus build music21:oneills1850 music21:airdsAirs music21:ryansMammoth \
        --bpm 120-140 --seed 0 --jobs 2 --quiet -o runs/default/corpus.npz > runs/default/corpus.log 2>&1 || exit 1
fi

train() {  # train ARCH: one thread each, so both runs get one core of the two
    local run=runs/default/$1 resume=
    [ -f "$run/last.pt" ] && resume=--resume
    .venv/bin/encore train runs/default/corpus.npz -o "$run" --arch "$1" --minutes "$minutes" \
        --threads 1 --seed 0 $resume --quiet >> "runs/default/train-$1.log" 2>&1
}
train stream &
train seed &
wait
