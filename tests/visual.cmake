# VisualRWKV image question answering (issue 6): unit tests of the pieces and
# the reference fixture through `aviary verify` (pixels to greedy tokens).
aviary_c_test(test_visual test_visual.c)
aviary_cli_test(verify_visual_rwkv6_tiny verify ${AVIARY_FIXTURES}/visual-rwkv6-tiny
                PASS_REGEX "0 failed: PASS")
aviary_cli_error_test(visual_verify_bad_mode "visual-rwkv has only --mode all"
                      verify ${AVIARY_FIXTURES}/visual-rwkv6-tiny --mode rnn)
