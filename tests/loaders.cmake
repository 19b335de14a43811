# Checkpoint loaders (core/src/checkpoint.c, ckpt_pth.c, ckpt_safetensors.c):
# every fixture model.pth equals its model.safetensors bit for bit, the
# hand-made corpus (tests/corpus/make_bad.py) loads with the documented
# values, and each bad file makes `aviary inspect` print one clear error that
# names the file.
aviary_c_test(test_checkpoint test_checkpoint.c LABELS loaders)

# name | file | expected message (from the reader's checks; the file name is always in it)
set(_bad
  "pth_truncated|pth/bad_truncated.pth|truncated zip"
  "pth_cd_offset|pth/bad_cd_offset.pth|central directory .* lies outside the file"
  "pth_cd_count|pth/bad_cd_count.pth|claims 65520 entries"
  "pth_huge_entry|pth/bad_huge_entry.pth|archive/data/0.* runs past the end of the file"
  "pth_local_offset|pth/bad_local_offset.pth|no local header at offset 65536"
  "pth_compressed|pth/bad_compressed.pth|is compressed \\(method 8\\)"
  "pth_opcode|pth/bad_opcode.pth|pickle opcode 0x30 .* outside the state_dict subset"
  "pth_short_storage|pth/bad_short_storage.pth|storage '0' declares 1000 f32 elements but its entry holds only 16 bytes"
  "pth_view|pth/bad_view.pth|tensor view .* needs more than its storage's 16 bytes"
  "pth_dims|pth/bad_dims.pth|9 dimensions"
  "pth_dtype|pth/bad_dtype.pth|unsupported storage type torch.ComplexFloatStorage"
  "pth_deep|pth/bad_deep.pth|nested deeper than"
  "pth_memo|pth/bad_memo.pth|memo index out of range"
  "pth_not_dict|pth/bad_not_dict.pth|holds no dict of tensors"
  "pth_pickle_truncated|pth/bad_pickle_truncated.pth|truncated pickle"
  "pth_missing_storage|pth/bad_missing_storage.pth|storage '0' has no archive/data/0 entry"
  "pth_bigendian|pth/bad_bigendian.pth|big-endian"
  "pth_no_pkl|pth/bad_no_pkl.pth|no <name>/data.pkl entry"
  "pth_zip64_locator|pth/bad_zip64_locator.pth|ZIP64 locator points to offset 3"
  "pth_empty|pth/bad_empty.pth|file is empty"
  "pth_legacy|pth/bad_legacy.pth|legacy \\(pre-1.6\\) PyTorch"
  "pth_legacy_tar|pth/bad_legacy_tar.pth|legacy \\(pre-1.6\\) PyTorch"
  "st_short|safetensors/bad_short.safetensors|neither a PyTorch zip checkpoint nor safetensors"
  "st_header_truncated|safetensors/bad_header_truncated.safetensors|truncated safetensors header"
  "st_header_huge|safetensors/bad_header_huge.safetensors|header length 1099511627776 is too large"
  "st_json|safetensors/bad_json.safetensors|header is not a JSON object"
  "st_dtype|safetensors/bad_dtype.safetensors|unsupported dtype 'C64'"
  "st_past_end|safetensors/bad_past_end.safetensors|ends at byte 16 past the end of the data"
  "st_span|safetensors/bad_span.safetensors|span 8 bytes but shape needs 12"
  "st_fields|safetensors/bad_fields.safetensors|lacks dtype, shape or data_offsets"
  "st_shape|safetensors/bad_shape.safetensors|bad shape"
  "st_dims|safetensors/bad_dims.safetensors|9 dimensions"
  "st_overflow|safetensors/bad_overflow.safetensors|shape is too large"
  "st_duplicate|safetensors/bad_duplicate.safetensors|'w' appears twice"
  "st_index|safetensors/bad_index.safetensors.index.json|not a plain shard file name"
  "st_index_missing|safetensors/bad_index_missing.safetensors.index.json|'v' is listed but missing")
foreach(_e IN LISTS _bad)
  string(REPLACE "|" ";" _f "${_e}")
  list(GET _f 0 _name)
  list(GET _f 1 _file)
  list(GET _f 2 _re)
  aviary_cli_error_test(inspect_bad_${_name} "corpus/${_file}: .*${_re}" inspect corpus/${_file})
endforeach()
aviary_cli_error_test(inspect_missing_file "corpus/pth/no_such.pth: cannot open" inspect corpus/pth/no_such.pth)
