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

# `aviary inspect` names the family and its sizes. Expected values come from
# each fixture's fixture.json config (n_layer/depth, n_embd/embed_dims,
# n_head x head_size, vocab_size, dim_ffn/hidden_dim, LoRA dims, patch,
# classes, grid) and one tensor row each from the reference shapes.
set(_lm_v4 "RWKV-4 LM: layers 2, n_embd 128, vocab 256, ffn 512")
set(_lm_v5 "RWKV-5 LM: layers 2, n_embd 128, heads 2 x 64, vocab 256, ffn 448")
set(_lm_v6 "RWKV-6 LM: layers 2, n_embd 128, heads 2 x 64, vocab 256, ffn 448, lora mix 32 decay 64")
set(_lm_v7 "RWKV-7 LM: layers 2, n_embd 128, heads 2 x 64, vocab 256, ffn 512, lora decay 32 aaa 64 mv 96 gate 128")
set(_arwkv "A-RWKV 2025 \\(RWKV-7 blocks\\): layers 2, n_embd 128, heads 2 x 64, ffn 512, patch 16x16, tokens 496, classes 527")
set(_audio24 "AudioRWKV 2024 \\(RWKV-6 blocks\\): layers 2, n_embd 128, heads 2 x 64, ffn 512, patch 8, n_mels 64, tokens 1000, classes 527")
set(_ts "RWKV-TS .*: layers 2, n_embd 128, heads 2 x 64, ffn 384, patch 16, patches 42, pred_len 96")
set(_vr4t "Vision-RWKV VRWKV \\(RWKV-4 blocks\\): layers 3, n_embd 96, ffn 384, patch 16, in_chans 3, pos tokens 49, classes 10, key_norm no, layer scale no")
set(_vr4p "Vision-RWKV VRWKV \\(RWKV-4 blocks\\): layers 2, n_embd 64, ffn 256, patch 16, in_chans 3, pos tokens 16, classes 10, key_norm yes, layer scale yes")
set(_vr6 "Vision-RWKV VRWKV6 \\(RWKV-6 blocks\\): layers 2, n_embd 128, heads 2 x 64, ffn 512, patch 16, in_chans 3, pos tokens 48, classes 10")
set(_visual "VisualRWKV: LM RWKV-6: layers 2, n_embd 128, heads 2 x 64, vocab 65536, ffn 448, lora mix 32 decay 64. vision CLIP ViT: layers 2, width 64, patch 14, image 84, positions 37. proj 64 -> 128")
# fixture dir | family regex | one tensor row regex (the A-RWKV safetensors
# keeps DataParallel's "module." names; the .pth reader drops the prefix)
set(_inspect
  "lm-rwkv4|${_lm_v4}|emb.weight +f32 +\\[256, 128\\]"
  "lm-rwkv5|${_lm_v5}|blocks.0.att.time_faaaa +f32 +\\[2, 64\\]"
  "lm-rwkv6|${_lm_v6}|blocks.0.att.time_maa_w1 +f32 +\\[128, 160\\]"
  "lm-rwkv6-bf16|${_lm_v6}|blocks.0.att.time_maa_w1 +bf16 +\\[128, 160\\]"
  "lm-rwkv7|${_lm_v7}|blocks.1.att.v1 +f32 +\\[128, 96\\]"
  "audio-arwkv2025|${_arwkv}|head.weight +f32 +\\[527, 128\\]"
  "audio-rwkv2024|${_audio24}|sed_model.logmel_extractor.melW +f32 +\\[513, 64\\]"
  "ts-rwkv-small|${_ts}|out_layer.weight +f32 +\\[96, 5376\\]"
  "ts-rwkv-weather-trained|${_ts}|in_layer.weight +f32 +\\[128, 16\\]"
  "vision-vrwkv4-t|${_vr4t}|backbone.pos_embed +f32 +\\[1, 49, 96\\]"
  "vision-vrwkv4-postnorm|${_vr4p}|backbone.pos_embed +f32 +\\[1, 16, 64\\]"
  "vision-vrwkv6|${_vr6}|backbone.pos_embed +f32 +\\[1, 48, 128\\]")
foreach(_e IN LISTS _inspect)
  string(REPLACE "|" ";" _f "${_e}")
  list(GET _f 0 _dir)
  list(GET _f 1 _fam)
  list(GET _f 2 _row)
  foreach(_file model.pth model.safetensors)
    if(EXISTS "${AVIARY_FIXTURES}/${_dir}/${_file}")
      aviary_cli_test(inspect_${_dir}_${_file} inspect fixtures/${_dir}/${_file}
                      PASS_REGEX "family: ${_fam}.*\n(module\\.)?${_row} ")
    endif()
  endforeach()
endforeach()
aviary_cli_test(inspect_visual-rwkv6-tiny inspect fixtures/visual-rwkv6-tiny/model.pth
                PASS_REGEX "family: ${_visual}.*\nproj.weight +bf16 +\\[128, 64\\]")
aviary_cli_test(inspect_arwkv_bf16 inspect fixtures/audio-arwkv2025/model.bf16.pth
                PASS_REGEX "family: ${_arwkv}.*\nhead.weight +bf16 +\\[527, 128\\] +134912")
# Hugging Face names (tests/corpus/make_bad.py hf_names()).
aviary_cli_test(inspect_hf_rwkv4 inspect corpus/safetensors/good_hf_rwkv4.safetensors
                PASS_REGEX "family: RWKV-4 LM: layers 2, n_embd 64, vocab 100, ffn 256\n")
aviary_cli_test(inspect_fla_rwkv7 inspect corpus/safetensors/good_fla_rwkv7.safetensors
                PASS_REGEX "family: RWKV-7 LM: layers 2, n_embd 64, heads 1 x 64, vocab 100, ffn 256, lora decay 8 aaa 16 mv 24 gate 32\n")
aviary_cli_test(inspect_unknown inspect corpus/safetensors/good_small.safetensors
                PASS_REGEX "family: unknown.*\nw +f32 +\\[2\\] +8")
aviary_cli_test(inspect_nested_pth inspect corpus/pth/good_nested.pth
                PASS_REGEX "format: PyTorch zip, 6 tensors, 63 bytes\n.*\nh_t +f16 +\\[3, 2\\] +12")

# The AudioRWKV fixtures through their .pth files: A-RWKV's DataParallel
# "module." names (f32 and the bf16 twin) and AudioRWKV 2024's Lightning
# wrapper {"state_dict": {"sed_model.*"}, "epoch", ...}.
aviary_cli_test(verify_audio_arwkv2025_pth verify fixtures/audio-arwkv2025 --weights fixtures/audio-arwkv2025/model.pth
                PASS_REGEX "8 checked, 0 failed: PASS")
aviary_cli_test(verify_audio_arwkv2025_bf16_pth verify fixtures/audio-arwkv2025
                --weights fixtures/audio-arwkv2025/model.bf16.pth PASS_REGEX "8 checked, 0 failed: PASS")
aviary_cli_test(verify_audio_rwkv2024_pth verify fixtures/audio-rwkv2024 --weights fixtures/audio-rwkv2024/model.pth
                PASS_REGEX "7 checked, 0 failed: PASS")
