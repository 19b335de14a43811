#!/bin/sh
# run_out.sh AVIARY: `aviary run --out` writes each output to its file (text,
# .json, .npy) and leaves no temporary file behind. Values by hand: see
# tests/pipelines/good_sum.json (features 28.5 0, total 30).
set -e
aviary=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$aviary" run pipelines/good_sum.json --in "values=1 2 3" --out "features=$dir/f.txt" \
  --out "total=$dir/t.json" --out "features=$dir/f.npy"
[ "$(cat "$dir/f.txt")" = "28.5 0" ] || { echo "f.txt: $(cat "$dir/f.txt")"; exit 1; }
[ "$(cat "$dir/t.json")" = '{"dtype": "f32", "shape": [1], "data": [30]}' ] || { echo "t.json: $(cat "$dir/t.json")"; exit 1; }
# .npy: 128-byte header (magic, version 1.0, dict padded to 64) + 2 float32
[ "$(wc -c < "$dir/f.npy")" -eq 136 ] || { echo "f.npy: wrong size"; exit 1; }
head -c 6 "$dir/f.npy" | od -An -c | grep -q 'N   U   M   P   Y' || { echo "f.npy: bad magic"; exit 1; }
grep -q "'shape': (2,)" "$dir/f.npy" || { echo "f.npy: bad shape"; exit 1; }
[ "$(ls "$dir" | wc -l)" -eq 3 ] || { echo "leftover files: $(ls "$dir")"; exit 1; }
# A failing run writes nothing.
if "$aviary" run pipelines/good_sum.json --in "values=x" --out "features=$dir/bad.txt" 2>/dev/null; then exit 1; fi
[ ! -e "$dir/bad.txt" ] || { echo "bad.txt written by a failed run"; exit 1; }
echo ok
