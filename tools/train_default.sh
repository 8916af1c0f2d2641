#!/usr/bin/env bash
# The default model (issue 4): build the public-domain corpus, then train the stream
# model in the background. Resumable: run it again and it skips a built corpus and
# resumes training from runs/default/stream/last.pt. runs/ is not committed.
#   nohup tools/train_default.sh > runs/default/pipeline.log 2>&1 &
set -u
cd "$(dirname "$0")/.."
mkdir -p runs/default
if [ ! -f runs/default/corpus.npz ]; then
    .venv/bin/encore corpus build music21:oneills1850 music21:airdsAirs music21:ryansMammoth \
        --bpm 120-140 --seed 0 --jobs 2 --quiet -o runs/default/corpus.npz > runs/default/corpus.log 2>&1 || exit 1
fi
if [ -f runs/default/stream/last.pt ]; then resume=--resume; else resume=; fi
exec .venv/bin/encore train runs/default/corpus.npz -o runs/default/stream --minutes 600 --threads 2 \
    --seed 0 $resume --quiet >> runs/default/train.log 2>&1
