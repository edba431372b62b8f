#!/bin/bash
# screening of label prompt variants with the 1.5B teacher, n=100 GoEmotions dev (seed 0)
cd /work/wt/teacher
export PYTHONPATH=$PWD/src EMOPILLARS_DATA=/work/shared/data
for v in "$@"; do
  echo "=== $v $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  nice -n 10 /work/main/.venv/bin/python -m emopillars.cli.main teacher audit --llm llamacpp:qwen2.5-1.5b \
    --prompts benchmarks/prompts/labels-$v --n 100 --out /work/runs/teacher/screen/q15-$v --name "Qwen 1.5B labels-$v" 2>&1 | tr '\r' '\n' | grep -v "^\s*$" | awk 'NR%20==0 || /audit|macro|labels\/|written|rror/'
  echo "=== done $v $(date -u +%H:%M:%S)"
done
