#!/bin/sh
# generate_check.sh AVIARY MODEL - `aviary generate` and `aviary chat` on a
# 256-token (byte tokenizer) fixture model, comparing runs with each other:
#   1. the same seed gives the same tokens and text, another seed other tokens;
#   2. --state-out then --state-in PROMPT2 continues exactly like one run over
#      PROMPT1 + generated + PROMPT2 (greedy);
#   3. chat keeps the state between turns: turn 2's reply equals greedy
#      generation over turn 1 + reply 1 + turn 2; /reset starts over.
set -eu
A=$1
M=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# byte ids of a string (printf %b escapes), comma-separated
ids() { printf '%b' "$1" | od -An -v -tu1 | tr -s ' \n' '  ' | sed 's/^ //; s/ $//; s/ /,/g'; }
commas() { echo "$1" | tr ' ' ','; }

# 1. seeds
a=$("$A" generate -m "$M" -p "Once upon a time" -n 32 --seed 11 --ids)
b=$("$A" generate -m "$M" -p "Once upon a time" -n 32 --seed 11 --ids)
c=$("$A" generate -m "$M" -p "Once upon a time" -n 32 --seed 12 --ids)
[ "$(echo "$a" | wc -w)" -eq 32 ] || fail "expected 32 ids, got '$a'"
[ "$a" = "$b" ] || fail "same seed, different tokens: '$a' vs '$b'"
[ "$a" != "$c" ] || fail "seeds 11 and 12 gave the same tokens"
"$A" generate -m "$M" -p "Once upon a time" -n 32 --seed 11 > "$T/t1"
"$A" generate -m "$M" -p "Once upon a time" -n 32 --seed 11 > "$T/t2"
cmp -s "$T/t1" "$T/t2" || fail "same seed, different text"
echo "ok   seed reproducibility"

# 2. state save / load
p=$(ids "Once upon")
q=$(ids " and then")
g="--temperature 0 --presence-penalty 0 --frequency-penalty 0 --ids"
a=$("$A" generate -m "$M" --prompt-ids "$p" -n 8 $g --state-out "$T/s.bin")
[ -s "$T/s.bin" ] || fail "no state file written"
b=$("$A" generate -m "$M" --state-in "$T/s.bin" --prompt-ids "$q" -n 8 $g)
c=$("$A" generate -m "$M" --prompt-ids "$p,$(commas "$a"),$q" -n 8 $g)
[ -n "$b" ] && [ "$b" = "$c" ] || fail "continued from state: '$b', in one run: '$c'"
echo "ok   state-out / state-in continuation"

# 3. chat
printf 'hello\nhow are you\n/reset\nhello\n' | "$A" chat -m "$M" -n 6 $g > "$T/chat"
r1=$(sed -n 1p "$T/chat" | sed 's/^Assistant: //')
r2=$(sed -n 3p "$T/chat" | sed 's/^Assistant: //')
reset=$(sed -n 5p "$T/chat")
r3=$(sed -n 6p "$T/chat" | sed 's/^Assistant: //')
[ "$(echo "$r1" | wc -w)" -eq 6 ] || fail "chat reply 1: '$r1'"
[ "$reset" = "[conversation reset]" ] || fail "no reset line: '$reset'"
t1=$(ids "User: hello\n\nAssistant:")
t2=$(ids "\n\nUser: how are you\n\nAssistant:")
want=$("$A" generate -m "$M" --prompt-ids "$t1,$(commas "$r1"),$t2" -n 6 $g)
[ "$r2" = "$want" ] || fail "chat turn 2: '$r2', generate over the whole conversation: '$want'"
[ "$r3" = "$r1" ] || fail "after /reset: '$r3', first reply: '$r1'"
echo "ok   chat keeps the state between turns, /reset"
echo "PASS"
