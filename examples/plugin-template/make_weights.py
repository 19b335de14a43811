#!/usr/bin/env python3
"""Write weights.safetensors for the template plugin without numpy/torch.

safetensors = 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw little-endian data.
The values are chosen so the expected output is easy to check by hand
(see README.md): weight = [[1, 2, 3], [0, -1, 0.5]], bias = [0.5, -1].
"""
import json, struct, sys

tensors = {
    "weight": ([2, 3], [1.0, 2.0, 3.0, 0.0, -1.0, 0.5]),
    "bias": ([2], [0.5, -1.0]),
}
header, blob = {}, b""
for name, (shape, values) in tensors.items():
    data = struct.pack("<%df" % len(values), *values)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
    blob += data
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
out = sys.argv[1] if len(sys.argv) > 1 else "weights.safetensors"
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + blob)
