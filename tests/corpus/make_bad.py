#!/usr/bin/env python3
"""Generate the checkpoint-loader test corpus without torch.

    python3 tests/corpus/make_bad.py

writes tests/corpus/pth/*.pth and tests/corpus/safetensors/*.safetensors:
  good_*   small valid checkpoints whose contents the C test checks
           (tests/test_checkpoint.c), including ZIP64 variants:
             good_zip64_local.pth  python zipfile force_zip64=True (ZIP64
                                   extra fields in the local headers)
             good_zip64_full.pth   hand-written ZIP64: central directory
                                   entries with 0xFFFFFFFF sizes/offsets and
                                   ZIP64 extras, ZIP64 end record + locator
  good_*.pkl  the good files' data.pkl alone (fuzz_pth seeds)
  bad_*    hostile or broken files; each must make `aviary inspect FILE`
           fail with one clear message (tests/loaders.cmake lists them).
The files double as the fuzzers' seed corpora (fuzz_pth, fuzz_safetensors).
Output is deterministic (fixed zip timestamps).

A torch.save zip is: <archive>/data.pkl (pickle of the state_dict, storages
as persistent ids ('storage', torch.XStorage, key, 'cpu', numel)),
<archive>/data/<key> (raw little-endian storage bytes), <archive>/version.
The pickle is produced by the real pickle module against stand-in torch
modules registered in sys.modules, so its opcodes are what torch emits.
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import types
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PTH = os.path.join(HERE, "pth")
ST = os.path.join(HERE, "safetensors")
DATE = (2024, 1, 1, 0, 0, 0)

# ---------------------------------------------------------------- fake torch
torch_mod = types.ModuleType("torch")
utils_mod = types.ModuleType("torch._utils")
torch_mod._utils = utils_mod
sys.modules["torch"] = torch_mod
sys.modules["torch._utils"] = utils_mod


def _rebuild_tensor_v2(*a):
    raise RuntimeError("never called")


def _rebuild_parameter(*a):
    raise RuntimeError("never called")


for fn in (_rebuild_tensor_v2, _rebuild_parameter):
    fn.__module__ = "torch._utils"
    fn.__qualname__ = fn.__name__
    setattr(utils_mod, fn.__name__, fn)

STORAGE_FMT = {"FloatStorage": ("<f", 4), "DoubleStorage": ("<d", 8), "HalfStorage": ("<e", 2),
               "BFloat16Storage": (None, 2), "LongStorage": ("<q", 8), "IntStorage": ("<i", 4),
               "ShortStorage": ("<h", 2), "CharStorage": ("<b", 1), "ByteStorage": ("<B", 1),
               "BoolStorage": ("<?", 1), "ComplexFloatStorage": (None, 8)}
for name in STORAGE_FMT:
    cls = type(name, (), {"__module__": "torch"})
    setattr(torch_mod, name, cls)


class Storage:
    """A storage: its torch type name, zip key, element count and bytes."""

    def __init__(self, typ, key, raw, numel=None):
        self.typ, self.key, self.raw = typ, key, raw
        self.numel = numel if numel is not None else len(raw) // STORAGE_FMT[typ][1]


class Tensor:
    def __init__(self, storage, offset, size, stride, param=False):
        self.storage, self.offset, self.size, self.stride, self.param = storage, offset, size, stride, param

    def __reduce__(self):
        t = (_rebuild_tensor_v2, (self.storage, self.offset, tuple(self.size), tuple(self.stride), False,
                                  collections.OrderedDict()))
        if self.param:
            return (_rebuild_parameter, (Rebuilt(t), False, collections.OrderedDict()))
        return t


class Rebuilt:
    def __init__(self, r):
        self.r = r

    def __reduce__(self):
        return self.r


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch_mod, obj.typ), obj.key, "cpu", obj.numel)
        return None


def contiguous(shape):
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= d
    return list(reversed(st))


def pack(typ, values):
    fmt = STORAGE_FMT[typ][0]
    if typ == "BFloat16Storage":  # top half of the f32 bits (values chosen exact)
        return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)
    return b"".join(struct.pack(fmt, v) for v in values)


def dumps(obj, protocol=2):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def storages_of(obj, out):
    if isinstance(obj, Tensor):
        out[obj.storage.key] = obj.storage
    elif isinstance(obj, dict):
        for v in obj.values():
            storages_of(v, out)
    return out


def zip_entries(obj, archive="archive", protocol=2, pkl=None):
    ents = [(archive + "/data.pkl", pkl if pkl is not None else dumps(obj, protocol))]
    for key, s in storages_of(obj, {}).items():
        ents.append((archive + "/data/" + key, s.raw))
    ents.append((archive + "/version", b"3\n"))
    return ents


def write_zip(path, ents, compress=zipfile.ZIP_STORED, force_zip64=False):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in ents:
            zi = zipfile.ZipInfo(name, DATE)
            zi.compress_type = compress
            with z.open(zi, "w", force_zip64=force_zip64) as f:
                f.write(data)


def write_zip64_full(path, ents):
    """Every size/offset through ZIP64 extras, plus ZIP64 end records."""
    out, central = bytearray(), bytearray()
    for name, data in ents:
        nb = name.encode()
        crc = zipfile.crc32(data) & 0xFFFFFFFF
        off = len(out)
        lextra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb),
                           len(lextra)) + nb + lextra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF,
                               0xFFFFFFFF, len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cextra
    cd_off = len(out)
    out += central
    z64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(ents), len(ents), len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    if hasattr(path, "write"):
        path.write(out)
    else:
        put(path, bytes(out))


def put(path, data):
    with open(path, "wb") as f:
        f.write(data)


# ------------------------------------------------------------- good files
def good_state():
    """Contents checked by test_checkpoint.c (values are exact in every dtype):
    w   f32  [2,3]  = 0.5*i
    b   bf16 [4]    = 1,2,3,4
    h_t f16  [3,2]  transposed view (strides [1,3], storage offset 1) of
                    storage 0..6 (7 halves: 0,1,...,6) -> h_t[r][c] = 1 + r + 3c
    n   i64  []     = -7   (scalar)
    m   bool [3]    = 1,0,1
    p   f32  [2]    = 9, -9  as an nn.Parameter (_rebuild_parameter)
    """
    sd = collections.OrderedDict()
    sd["w"] = Tensor(Storage("FloatStorage", "0", pack("FloatStorage", [0.5 * i for i in range(6)])), 0, [2, 3],
                     [3, 1])
    sd["b"] = Tensor(Storage("BFloat16Storage", "1", pack("BFloat16Storage", [1, 2, 3, 4])), 0, [4], [1])
    sd["h_t"] = Tensor(Storage("HalfStorage", "2", pack("HalfStorage", list(range(7)))), 1, [3, 2], [1, 3])
    sd["n"] = Tensor(Storage("LongStorage", "3", pack("LongStorage", [-7])), 0, [], [])
    sd["m"] = Tensor(Storage("BoolStorage", "4", pack("BoolStorage", [True, False, True])), 0, [3], [1])
    sd["p"] = Tensor(Storage("FloatStorage", "5", pack("FloatStorage", [9, -9])), 0, [2], [1], param=True)
    return sd


def one(typ="FloatStorage", n=4, key="0", offset=0, size=None, stride=None, numel=None, raw=None):
    size = size if size is not None else [n]
    st = Storage(typ, key, raw if raw is not None else pack(typ, list(range(n))) if STORAGE_FMT[typ][0] else
                 bytes(n * STORAGE_FMT[typ][1]), numel)
    return Tensor(st, offset, size, stride if stride is not None else contiguous(size))


def patch_pickle(obj, old, new, protocol=2):
    p = dumps(obj, protocol)
    assert old in p, (old, p)
    return p.replace(old, new, 1)


def main():
    os.makedirs(PTH, exist_ok=True)
    os.makedirs(ST, exist_ok=True)
    gs = good_state()
    write_zip(os.path.join(PTH, "good_small.pth"), zip_entries(gs))
    write_zip(os.path.join(PTH, "good_proto4.pth"), zip_entries(gs, protocol=4))
    write_zip(os.path.join(PTH, "good_zip64_local.pth"), zip_entries(gs), force_zip64=True)
    write_zip64_full(os.path.join(PTH, "good_zip64_full.pth"), zip_entries(gs))
    wrapped = {"epoch": 3, "optimizer": {"lr": 0.25},
               "state_dict": collections.OrderedDict(("module." + k, v) for k, v in gs.items())}
    write_zip(os.path.join(PTH, "good_nested.pth"), zip_entries(wrapped, archive="checkpoint"))
    # Raw pickles: fuzz_pth wraps non-zip inputs as data.pkl beside storages 0..7.
    put(os.path.join(PTH, "good_small.pkl"), dumps(gs))
    put(os.path.join(PTH, "good_proto4.pkl"), dumps(gs, protocol=4))
    put(os.path.join(PTH, "good_nested.pkl"), dumps(wrapped))
    # The generator's own cross-check: python's zipfile must read the ZIP64 files.
    for f in ("good_zip64_local.pth", "good_zip64_full.pth"):
        with zipfile.ZipFile(os.path.join(PTH, f)) as z:
            assert z.read("archive/data/0") == gs["w"].storage.raw

    small = collections.OrderedDict(w=one())
    ents = zip_entries(small)
    full = io.BytesIO()
    write_zip(full, ents)
    full = full.getvalue()
    eocd = full.rfind(b"PK\x05\x06")
    cd_off = struct.unpack("<I", full[eocd + 16:eocd + 20])[0]

    bad = {}
    bad["bad_truncated.pth"] = full[: len(full) // 2]
    bad["bad_cd_offset.pth"] = full[:eocd + 16] + struct.pack("<I", 0x7FFFFFF0) + full[eocd + 20:]
    bad["bad_cd_count.pth"] = full[:eocd + 8] + struct.pack("<HH", 0xFFF0, 0xFFF0) + full[eocd + 12:]
    # Central directory entry of data/0 claims a huge size (both sizes, stored).
    cd = full.find(b"PK\x01\x02", cd_off, eocd)
    cd = full.find(b"PK\x01\x02", cd + 4, eocd)  # second entry: archive/data/0
    assert full[cd + 46:cd + 46 + 14] == b"archive/data/0"
    bad["bad_huge_entry.pth"] = full[:cd + 20] + struct.pack("<II", 0x7FFFFFF0, 0x7FFFFFF0) + full[cd + 28:]
    bad["bad_local_offset.pth"] = full[:cd + 42] + struct.pack("<I", 0x10000) + full[cd + 46:]
    c = io.BytesIO()
    write_zip(c, ents, compress=zipfile.ZIP_DEFLATED)
    bad["bad_compressed.pth"] = c.getvalue()
    # Opcode outside the subset: POP ('0') after the first put.
    p = patch_pickle(small, b"q\x00", b"q\x00N0")
    bad["bad_opcode.pth"] = p
    bad["bad_short_storage.pth"] = collections.OrderedDict(w=one(numel=1000))
    bad["bad_view.pth"] = collections.OrderedDict(w=one(offset=2, size=[2, 2], stride=[2, 1]))
    bad["bad_dims.pth"] = collections.OrderedDict(w=one(n=1, size=[1] * 9, stride=[1] * 9))
    bad["bad_dtype.pth"] = collections.OrderedDict(w=one(typ="ComplexFloatStorage"))
    deep = collections.OrderedDict(w=one())
    for _ in range(40):
        deep = {"x": deep}
    bad["bad_deep.pth"] = deep
    bad["bad_memo.pth"] = patch_pickle(small, b"h\x00", b"h\xc8")
    bad["bad_not_dict.pth"] = [one()]
    bad["bad_pickle_truncated.pth"] = dumps(small)[:-9]
    bad["bad_missing_storage.pth"] = ("nostorage", small)
    bad["bad_bigendian.pth"] = ("bigendian", small)
    for name, v in bad.items():
        path = os.path.join(PTH, name)
        if isinstance(v, bytes) and v.startswith(b"PK"):
            put(path, v)
        elif isinstance(v, bytes):  # a pickle: wrap it in an otherwise valid zip
            write_zip(path, zip_entries(small, pkl=v))
        elif isinstance(v, tuple) and v[0] == "nostorage":
            write_zip(path, [e for e in zip_entries(v[1]) if "/data/" not in e[0]])
        elif isinstance(v, tuple) and v[0] == "bigendian":
            write_zip(path, zip_entries(v[1]) + [("archive/byteorder", b"big")])
        elif isinstance(v, list):
            write_zip(path, zip_entries({}, pkl=dumps(v)) + [("archive/data/0", v[0].storage.raw)])
        else:
            write_zip(path, zip_entries(v))
    write_zip(os.path.join(PTH, "bad_no_pkl.pth"), [e for e in ents if not e[0].endswith("data.pkl")])
    # ZIP64 locator pointing at garbage.
    z64 = io.BytesIO()
    write_zip64_full(z64, ents)
    z64 = bytearray(z64.getvalue())
    loc = z64.rfind(b"PK\x06\x07")
    z64[loc + 8:loc + 16] = struct.pack("<Q", 3)
    put(os.path.join(PTH, "bad_zip64_locator.pth"), bytes(z64))
    put(os.path.join(PTH, "bad_empty.pth"), b"")
    put(os.path.join(PTH, "bad_legacy.pth"), pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + dumps(small))
    t = io.BytesIO()
    with tarfile.open(fileobj=t, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for n, data in (("sys_info", b"x"), ("pickle", dumps(small)), ("storages", b"")):
            ti = tarfile.TarInfo(n)
            ti.size, ti.mtime = len(data), 0
            tf.addfile(ti, io.BytesIO(data))
    put(os.path.join(PTH, "bad_legacy_tar.pth"), t.getvalue())

    # ------------------------------------------------------ safetensors
    def st(header, data, hlen=None):
        h = json.dumps(header).encode() if isinstance(header, dict) else header
        return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data

    d8 = struct.pack("<2f", 1.0, 2.0)
    okh = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    put(os.path.join(ST, "good_small.safetensors"), st(okh, d8))
    put(os.path.join(ST, "bad_short.safetensors"), b"\x10\x00\x00")
    put(os.path.join(ST, "bad_header_truncated.safetensors"), st(okh, d8, hlen=4000))
    put(os.path.join(ST, "bad_header_huge.safetensors"), st(okh, d8, hlen=1 << 40))
    put(os.path.join(ST, "bad_json.safetensors"), st(b'{"w": {"dtype": "F32", ', d8))
    put(os.path.join(ST, "bad_dtype.safetensors"),
        st({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, d8))
    put(os.path.join(ST, "bad_past_end.safetensors"),
        st({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, d8))
    put(os.path.join(ST, "bad_span.safetensors"),
        st({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, d8))
    put(os.path.join(ST, "bad_fields.safetensors"), st({"w": {"dtype": "F32", "shape": [2]}}, d8))
    put(os.path.join(ST, "bad_shape.safetensors"),
        st({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, d8))
    put(os.path.join(ST, "bad_dims.safetensors"),
        st({"w": {"dtype": "F32", "shape": [1] * 9, "data_offsets": [0, 4]}}, d8))
    put(os.path.join(ST, "bad_overflow.safetensors"),
        st({"w": {"dtype": "F32", "shape": [1 << 31, 1 << 31, 1 << 31], "data_offsets": [0, 8]}}, d8))
    put(os.path.join(ST, "bad_duplicate.safetensors"),
        st(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],'
           b'"data_offsets":[4,8]}}', d8))
    put(os.path.join(ST, "bad_index.safetensors.index.json"),
        json.dumps({"weight_map": {"w": "../good_small.safetensors"}}).encode())
    put(os.path.join(ST, "bad_index_missing.safetensors.index.json"),
        json.dumps({"weight_map": {"w": "good_small.safetensors", "v": "good_small.safetensors"}}).encode())
    hf_names()


def st_zeros(path, shapes):
    """A safetensors file of f32 zeros with the given {name: shape}."""
    header, off = {}, 0
    for name, shape in shapes.items():
        n = 4
        for d in shape:
            n *= d
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    put(path, struct.pack("<Q", len(h)) + h + bytes(off))


def hf_names():
    """Language models under the Hugging Face names, for family recognition:
    hf_rwkv4  RwkvForCausalLM layout: 2 layers, n_embd 64, vocab 100, ffn 256
    fla_rwkv7 fla RWKV7ForCausalLM layout: 2 layers, n_embd 64, 1 head x 64,
              vocab 100, ffn 256, LoRA decay 8 / aaa 16 / mv 24 / gate 32
              (nn.Linear [out, in] LoRA matrices)."""
    C, F, V = 64, 256, 100
    hf = {"rwkv.embeddings.weight": [V, C]}
    for i in range(2):
        b = "rwkv.blocks.%d." % i
        hf.update({b + "ln1.weight": [C], b + "ln2.weight": [C], b + "attention.time_first": [C],
                   b + "attention.time_decay": [C], b + "attention.key.weight": [C, C],
                   b + "feed_forward.key.weight": [F, C], b + "feed_forward.value.weight": [C, F]})
    hf.update({"rwkv.blocks.0.pre_ln.weight": [C], "rwkv.ln_out.weight": [C], "head.weight": [V, C]})
    st_zeros(os.path.join(ST, "good_hf_rwkv4.safetensors"), hf)
    fla = {"model.embeddings.weight": [V, C]}
    for i in range(2):
        b = "model.layers.%d." % i
        fla.update({b + "attn_norm.weight": [C], b + "ffn_norm.weight": [C], b + "attn.r_k": [1, 64],
                    b + "attn.k_proj.weight": [C, C], b + "attn.w_lora.lora.0.weight": [8, C],
                    b + "attn.a_lora.lora.0.weight": [16, C], b + "attn.v_lora.lora.0.weight": [24, C],
                    b + "attn.g_lora.lora.0.weight": [32, C], b + "ffn.key.weight": [F, C],
                    b + "ffn.value.weight": [C, F]})
    fla.update({"model.norm.weight": [C], "lm_head.weight": [V, C]})
    st_zeros(os.path.join(ST, "good_fla_rwkv7.safetensors"), fla)


if __name__ == "__main__":
    main()
