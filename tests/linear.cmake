# Dense layers (aviary_linear.h): precisions, shapes, transposed/bias, errors.
aviary_c_test(test_linear test_linear.c)
# Sparse-input linears (the channel-mix value: rows of zero inputs skipped) against the C backend and dense.
aviary_c_test(test_linear_sparse test_linear_sparse.c)
# The oneDNN and C backends give the same lm fixture results (the verify_* tests above run the default backend).
foreach(fx lm-rwkv6 lm-rwkv6-bf16 lm-rwkv7)
  aviary_cli_test(verify_${fx}_c_backend verify ${AVIARY_FIXTURES}/${fx} --weights model.safetensors
                  PASS_REGEX "0 failed: PASS")
  set_property(TEST verify_${fx}_c_backend APPEND PROPERTY ENVIRONMENT "AVIARY_MATMUL=c")
endforeach()
# This machine as a CPU without AVX-512: oneDNN capped at its AVX2 ISA and our kernels at AVX2. Every
# linear takes the k-major layout (bf16 and int8 prefill through f32 tiles); none may fall back to C.
# And as an AVX-512 CPU without VNNI or BF16 (Skylake-X class): f32 blocked, bf16 and int8 k-major.
foreach(t test_linear test_linear_sparse)
  add_test(NAME ${t}_avx2 COMMAND ${t} WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(${t}_avx2 PROPERTIES LABELS "unit"
                       ENVIRONMENT "${AVIARY_TEST_ENV};ONEDNN_MAX_CPU_ISA=AVX2;AVIARY_KERNELS=avx2")
  add_test(NAME ${t}_avx512_core COMMAND ${t} WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(${t}_avx512_core PROPERTIES LABELS "unit"
                       ENVIRONMENT "${AVIARY_TEST_ENV};ONEDNN_MAX_CPU_ISA=AVX512_CORE")
endforeach()
foreach(fx lm-rwkv6 lm-rwkv6-bf16 lm-rwkv7)
  aviary_cli_test(verify_${fx}_avx2 verify ${AVIARY_FIXTURES}/${fx} PASS_REGEX "0 failed: PASS")
  set_property(TEST verify_${fx}_avx2 APPEND PROPERTY ENVIRONMENT "ONEDNN_MAX_CPU_ISA=AVX2;AVIARY_KERNELS=avx2")
endforeach()
# aviary bench: a table over precisions and thread counts, each in its own process (tiny random model).
aviary_cli_test(bench_table bench --shape rwkv7:L2:D64:V256 --weights f32,bf16,int8 --threads 1,2 --prompt 8 --gen 2
                PASS_REGEX "int8 +2 +\\|")
aviary_cli_error_test(bench_error_weights "unknown weight type 'int4'" bench --shape rwkv7:L2:D64:V256 --weights f32,int4)
aviary_c_test(test_linear_pool test_linear_pool.c)
# The one-token kernels with the other stream count than this CPU's default (1 on AMD, 4 elsewhere).
foreach(st 1 4)
  add_test(NAME test_linear_streams${st} COMMAND test_linear WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(test_linear_streams${st} PROPERTIES LABELS "unit"
                       ENVIRONMENT "${AVIARY_TEST_ENV};AVIARY_GEMV_STREAMS=${st}")
endforeach()
# aviary bench names the matmul paths the CPU gets (aviary_linear_cpu_info), also when capped at AVX2.
aviary_cli_test(bench_cpu_line bench --shape rwkv7:L2:D64:V256 --prompt 8 --gen 2
                PASS_REGEX "cpu +oneDNN [a-z0-9_]+. kernels (avx512|avx2|portable)[a-z0-9+]*. one-token streams [14]\n")
aviary_cli_test(bench_cpu_line_avx2 bench --shape rwkv7:L2:D64:V256 --prompt 8 --gen 2
                PASS_REGEX "cpu +oneDNN avx2. kernels avx2. one-token streams [14]\n")
set_property(TEST bench_cpu_line_avx2 APPEND PROPERTY ENVIRONMENT "ONEDNN_MAX_CPU_ISA=AVX2;AVIARY_KERNELS=avx2")
# --repeat: the median of N prefill + generation runs with their range; out-of-range N refused.
aviary_cli_test(bench_repeat bench --shape rwkv7:L2:D64:V256 --prompt 8 --gen 2 --repeat 3
                PASS_REGEX "generate .*median of 3 runs, [0-9.]+-[0-9.]+\n")
aviary_cli_error_test(bench_error_repeat "--repeat: expected an integer from 1 to 100, got '0'"
                      bench --shape rwkv7:L2:D64:V256 --repeat 0)
