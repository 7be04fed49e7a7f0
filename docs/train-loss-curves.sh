#!/usr/bin/env bash
# The README's training figure: samples/Train on its defaults (random LLaMA-family model, the shipped text) with
# P = 1, 2 and 4 devices, the three loss CSVs plotted on one PNG (docs/plot-losses.cs, ScottPlot):
#   bash docs/train-loss-curves.sh [STEPS]       (default 60) → docs/train-loss-p124.png
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-60}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
dotnet build samples/Train -c Release -warnaserror -v q -nologo >/dev/null
curves=()
for p in 1 2 4; do
    dotnet samples/Train/bin/Release/net10.0/Train.dll --devices "$p" --steps "$steps" --lr 3e-3 --loss-out "$out/p$p.csv" | tail -n 2
    curves+=("P = $p=$out/p$p.csv")
done
dotnet run docs/plot-losses.cs -- docs/train-loss-p124.png "${curves[@]}"
