#!/bin/sh
# template_oot.sh CMAKE CTEST BUILD_DIR TEMPLATE_DIR: install the aviary build
# into a temporary prefix, then configure, build and test the plugin template
# out of tree against it with find_package(aviary), as docs/writing-plugins.md says.
set -e
cmake=$1 ctest=$2 build=$3 src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cmake" --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
"$cmake" -S "$src" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" > "$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
"$cmake" --build "$tmp/build" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
"$ctest" --test-dir "$tmp/build" --output-on-failure
# pkg-config works too: compile the same plugin by hand and let the installed
# aviary list it. aviary.pc is prefix-relative, so --define-prefix relocates it.
libdir=$(dirname "$(find "$tmp/prefix" -name 'libaviary.so' | head -n 1)")
mkdir "$tmp/pc"
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --define-prefix --cflags --libs aviary)
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden -o "$tmp/pc/template_series.so" \
  "$src/template_series.c" $flags
LD_LIBRARY_PATH="$libdir" "$tmp/prefix/bin/aviary" plugins --path "$tmp/pc" template_series | grep -q '^template_series  (encoder'
# The installed host finds its own installed plugins beside libaviary.
LD_LIBRARY_PATH="$libdir" "$tmp/prefix/bin/aviary" plugins | grep -q "$libdir/aviary/plugins/ts_patch.so"
echo ok
