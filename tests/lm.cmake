# RWKV language models (issue 3): the reference fixtures through `aviary verify`
# from both checkpoint formats, the block library, and the LM API's state and
# error handling.
foreach(fx lm-rwkv4 lm-rwkv5 lm-rwkv6 lm-rwkv6-bf16 lm-rwkv7)
  aviary_cli_test(verify_${fx}_safetensors verify ${AVIARY_FIXTURES}/${fx} --weights model.safetensors
                  PASS_REGEX "0 failed: PASS")
  aviary_cli_test(verify_${fx}_pth verify ${AVIARY_FIXTURES}/${fx} --weights model.pth
                  PASS_REGEX "0 failed: PASS")
endforeach()
aviary_cli_test(verify_lm-rwkv7_rnn_only verify ${AVIARY_FIXTURES}/lm-rwkv7 --mode rnn PASS_REGEX "4 checked, 0 failed: PASS")
aviary_cli_test(verify_lm-rwkv6_seq_only verify ${AVIARY_FIXTURES}/lm-rwkv6 --mode seq PASS_REGEX "8 checked, 0 failed: PASS")

aviary_c_test(test_blocks test_blocks.c)
aviary_c_test(test_lm test_lm.c)

aviary_cli_error_test(lm_error_not_an_lm "ts-rwkv-small/model.safetensors: not an RWKV"
                      verify ${AVIARY_FIXTURES}/lm-rwkv6 --weights ${AVIARY_FIXTURES}/ts-rwkv-small/model.safetensors)
aviary_cli_error_test(lm_error_bad_mode "--mode must be rnn, seq or all"
                      verify ${AVIARY_FIXTURES}/lm-rwkv6 --mode fast)
aviary_cli_error_test(lm_error_missing_weights "nope.safetensors"
                      verify ${AVIARY_FIXTURES}/lm-rwkv6 --weights nope.safetensors)
# The LM tests (bf16 and int8 against f32 included) as on a CPU without AVX-512 (see linear.cmake).
add_test(NAME test_lm_avx2 COMMAND test_lm WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(test_lm_avx2 PROPERTIES LABELS "unit"
                     ENVIRONMENT "${AVIARY_TEST_ENV};ONEDNN_MAX_CPU_ISA=AVX2;AVIARY_KERNELS=avx2")
