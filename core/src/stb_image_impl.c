/* stb_image_impl.c - the one compilation of Debian's stb_image (2.27) in
 * libaviary, used by image.c. It has a translation unit of its own so that
 * the sanitizer builds can relax four UBSan checks for stb alone (see
 * core/CMakeLists.txt). On corrupt files stb 2.27 shifts a 32-bit value by
 * 32 in its JPEG bit reader, adds 0 to a NULL pointer and memcpy()s 0 bytes
 * from NULL in its PNG reader, and can overflow int arithmetic: harmless
 * with gcc/clang on x86 (later stb releases add the checks), but UBSan would
 * stop every fuzz run on them. Memory errors in stb stay checked by ASan,
 * and the one memory-unsafe stb 2.27 bug known here (Huffman tables with
 * more than 256 codes) is refused by image.c before stb runs.
 * The stbi_* symbols are hidden by libaviary's default visibility. */
#include "aviary/aviary_image.h"

#define STBI_MAX_DIMENSIONS AVIARY_IMAGE_MAX_SIDE
#define STBI_NO_HDR
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb_image.h>
