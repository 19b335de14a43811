/* stb_image_impl.c - the one compilation of Debian's stb_image (2.27) in
 * libaviary, used by image.c. It has a translation unit of its own so that
 * the sanitizer builds can relax two arithmetic checks for stb alone (see
 * core/CMakeLists.txt): on corrupt JPEGs stb 2.27 shifts a 32-bit value by
 * 32 in its bit reader (harmless on x86, fixed in later stb releases), which
 * UBSan would report from every fuzz run. Memory errors in stb stay checked
 * by ASan, and the one memory-unsafe stb 2.27 bug known here (Huffman tables
 * with more than 256 codes) is refused by image.c before stb runs.
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
