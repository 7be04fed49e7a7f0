#!/usr/bin/env bash
# Draws the plan pictures and renders them in a real headless browser, so a person (or a reviewer) can look at them:
#   bash docs/render-diagrams.sh [OUT_DIR]       (default /tmp/shardgen-diagrams)
# Writes MegatronMlp's and TransformerBlock's plans (samples, --diagram) and the PlanDiagram tests' plans (1D, blocks,
# Summa2D on 2×2 and 3×3 grids; files test-*.svg), then a PNG of each with Debian's chromium.
# Fails when a drawing is not well-formed XML or a screenshot is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/shardgen-diagrams}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

command -v chromium >/dev/null || { echo "installing chromium (Debian)"; apt-get install -y chromium >/dev/null; }

dotnet build samples/MegatronMlp -c Release -warnaserror -v q -nologo >/dev/null
dotnet build samples/TransformerBlock -c Release -warnaserror -v q -nologo >/dev/null
dotnet samples/MegatronMlp/bin/Release/net10.0/MegatronMlp.dll --diagram "$out/megatron-mlp.svg" >/dev/null
dotnet samples/TransformerBlock/bin/Release/net10.0/TransformerBlock.dll --diagram "$out/transformer-block-sp.svg" >/dev/null
SHARDGEN_DIAGRAM_DIR="$out" dotnet test tests/ShardGen.Tests -c Release -nologo -v q --filter "FullyQualifiedName~PlanDiagramTests" >/dev/null

for svg in "$out"/*.svg; do
  python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$svg"
  # The window is the drawing's own size, so the screenshot is the picture at 100% zoom.
  read -r w h < <(python3 -c 'import sys, xml.dom.minidom as m; e = m.parse(sys.argv[1]).documentElement; print(e.getAttribute("width"), e.getAttribute("height"))' "$svg")
  png="${svg%.svg}.png"
  rm -f "$png"
  profile="$(mktemp -d)"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$png" --window-size="$w,$h" "file://$svg" >/dev/null 2>&1 || true
  rm -rf "$profile"
  [ -s "$png" ] || { echo "no screenshot for $svg" >&2; exit 1; }
  echo "$png (${w}×${h})"
done
