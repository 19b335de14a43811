#!/bin/sh
# lm_pipeline_check.sh AVIARY - the lm_generate head plugin in a pipeline:
# greedy text equals `aviary generate` with the same settings on the same
# model; a seeded chat-mode pipeline gives the same reply twice.
set -eu
A=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$A" run pipelines/lm_generate.json --in prompt="Once upon" --out text="$T/pipe.txt"
"$A" generate -m fixtures/lm-rwkv6/model.safetensors -p "Once upon" -n 16 --temperature 0 \
  --presence-penalty 0 --frequency-penalty 0 --precision f32 > "$T/gen.txt"
printf '\n' >> "$T/pipe.txt"
[ -s "$T/pipe.txt" ] && cmp -s "$T/pipe.txt" "$T/gen.txt" || fail "pipeline text differs from aviary generate"
echo "ok   lm_generate greedy = aviary generate"
"$A" run pipelines/lm_generate_chat.json --in prompt="hello" --out text="$T/c1.txt"
"$A" run pipelines/lm_generate_chat.json --in prompt="hello" --out text="$T/c2.txt"
cmp -s "$T/c1.txt" "$T/c2.txt" || fail "seeded chat pipeline not reproducible"
echo "ok   lm_generate chat mode reproducible with a seed"
echo "PASS"
