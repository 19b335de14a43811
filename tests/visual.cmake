# VisualRWKV image question answering (issue 6): unit tests of the pieces and
# the reference fixture through `aviary verify` (pixels to greedy tokens).
aviary_c_test(test_visual test_visual.c)
aviary_cli_test(verify_visual_rwkv6_tiny verify ${AVIARY_FIXTURES}/visual-rwkv6-tiny
                PASS_REGEX "0 failed: PASS")
aviary_cli_error_test(visual_verify_bad_mode "visual-rwkv has only --mode all"
                      verify ${AVIARY_FIXTURES}/visual-rwkv6-tiny --mode rnn)

# aviary ask: bad command lines fail with one clear line
set(_vq_pipe ${PROJECT_SOURCE_DIR}/examples/image-qa/tiny.json)
set(_vq_img ${AVIARY_FIXTURES}/visual-rwkv6-tiny/input.png)
aviary_cli_error_test(ask_no_pipeline "no pipeline given" ask --image ${_vq_img} "What is it?")
aviary_cli_error_test(ask_no_image "no image given" ask -c ${_vq_pipe} "What is it?")
aviary_cli_error_test(ask_no_question "no question given" ask -c ${_vq_pipe} --image ${_vq_img})
aviary_cli_error_test(ask_missing_image "nope.png: cannot read the image file" ask -c ${_vq_pipe} --image nope.png "q")
aviary_cli_error_test(ask_bad_layout "unknown prompt layout 'last'" ask -c ${_vq_pipe} --image ${_vq_img} --layout last "q")
aviary_cli_error_test(ask_bad_max_tokens "--max-tokens" ask -c ${_vq_pipe} --image ${_vq_img} --max-tokens 0 "q")
aviary_cli_error_test(ask_two_questions "more than one question" ask -c ${_vq_pipe} --image ${_vq_img} "a" "b")
aviary_cli_error_test(ask_missing_pipeline "nope.json" ask -c nope.json --image ${_vq_img} "q")
