#!/bin/sh
# vocab_install.sh CMAKE BUILD_DIR: `cmake --install` into a temporary prefix
# puts the World vocabulary in share/aviary, and the installed aviary finds it
# there (not in the source tree) with no option or variable set.
set -eu
cmake=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cmake" --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
[ -s "$tmp/prefix/share/aviary/rwkv_vocab_v20230424.txt" ] || { echo "FAIL: vocabulary not installed"; exit 1; }
unset AVIARY_VOCAB
libdir=$(dirname "$(find "$tmp/prefix" -name 'libaviary.so' | head -n 1)")
export LD_LIBRARY_PATH="$libdir"
ids=$("$tmp/prefix/bin/aviary" tokenize -v "Hello, world!" 2> "$tmp/err")
cat "$tmp/err"
grep -q "vocabulary $tmp/prefix/[a-z0-9_/-]*\.\./share/aviary/rwkv_vocab_v20230424.txt" "$tmp/err" ||
  { echo "FAIL: the installed aviary did not use the installed vocabulary"; exit 1; }
[ "$ids" = "33155 45 40213 34" ] || { echo "FAIL: ids '$ids'"; exit 1; }
# $AVIARY_VOCAB wins
AVIARY_VOCAB=/nonexistent/v.txt "$tmp/prefix/bin/aviary" tokenize hi 2> "$tmp/err2" && exit 1
grep -q "/nonexistent/v.txt: cannot open vocabulary" "$tmp/err2" || { cat "$tmp/err2"; exit 1; }
echo PASS
