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
# aviary bench: a table over precisions and thread counts, each in its own process (tiny random model).
aviary_cli_test(bench_table bench --shape rwkv7:L2:D64:V256 --weights f32,bf16,int8 --threads 1,2 --prompt 8 --gen 2
                PASS_REGEX "int8 +2 +\\|")
aviary_cli_error_test(bench_error_weights "unknown weight type 'int4'" bench --shape rwkv7:L2:D64:V256 --weights f32,int4)
aviary_c_test(test_linear_pool test_linear_pool.c)
