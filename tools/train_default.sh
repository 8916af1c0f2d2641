#!/usr/bin/env bash
# The default beat model (issue 15), as models/README.md reports it: build the 4/4-friendly
# corpus of the public-domain tune books in beats, then train the default stream model on
# one core. Resumable: run it again and it skips a built corpus and resumes from last.pt.
# runs/ is not committed.
#   nohup tools/train_default.sh > runs/beat/pipeline.log 2>&1 &
#   MINUTES=62 (per session)
set -u
cd "$(dirname "$0")/.."
minutes=${MINUTES:-62}
mkdir -p runs/beat
if [ ! -f runs/beat/corpus.npz ]; then
    .venv/bin/encore corpus build music21:oneills1850 music21:airdsAirs music21:ryansMammoth \
        --meter 4/4 --meter 2/4 --meter 2/2 --seed 0 --jobs 2 --quiet \
        -o runs/beat/corpus.npz > runs/beat/corpus.log 2>&1 || exit 1
fi
resume=
[ -f runs/beat/run/last.pt ] && resume=--resume
.venv/bin/encore train runs/beat/corpus.npz -o runs/beat/run --minutes "$minutes" \
    --threads 1 --seed 0 $resume --quiet >> runs/beat/train.log 2>&1
