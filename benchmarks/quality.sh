#!/usr/bin/env bash
# Quality on the held-out authored test split, every model through the same `waspada evaluate`.
#   bash benchmarks/quality.sh            (from the repository root, venv active)
# Settings were chosen on dev; test is only read here, at the end.
set -euo pipefail
export HF_HUB_OFFLINE=1
out=benchmarks/results
mkdir -p "$out"
waspada baseline --config configs/tiny.yaml --output runs/baseline-tfidf
waspada train --config configs/tiny.yaml --no-progress
default_model=$(python -c "from waspada.train.default_model import ensure_default_model; print(ensure_default_model())")
for pair in "baseline-tfidf:runs/baseline-tfidf" "tiny:runs/tiny" "e5-small-offline:$default_model"; do
  name=${pair%%:*}; model=${pair#*:}
  waspada evaluate --model "$model" --data data/dev.jsonl --report "$out/quality-$name-dev" > /dev/null
  waspada evaluate --model "$model" --data data/test.jsonl --report "$out/quality-$name-test" > /dev/null
done
python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
labels = ["preemptive", "preventive", "neutrality", "threat_awareness"]
print("| model | split | " + " | ".join(labels) + " | macro F1 | micro F1 |")
print("| --- | --- | " + " | ".join("---:" for _ in labels) + " | ---: | ---: |")
for name in ("baseline-tfidf", "tiny", "e5-small-offline"):
    for split in ("dev", "test"):
        m = json.load(open(f"{out}/quality-{name}-{split}/metrics.json"))
        cells = " | ".join(f"{m['per_label'][l]['f1']:.3f}" for l in labels)
        print(f"| {name} | {split} | {cells} | **{m['macro_f1']:.3f}** | {m['micro_f1']:.3f} |")
PY
