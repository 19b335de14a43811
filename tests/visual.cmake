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
aviary_cli_error_test(ask_not_an_image "input.png|image" ask -c ${_vq_pipe} --image ${AVIARY_FIXTURES}/visual-rwkv6-tiny/fixture.json "q")
aviary_cli_error_test(ask_no_backbone "needs a \"backbone\"" ask -c pipelines/visual_no_backbone.json --image ${_vq_img} "q")
aviary_cli_error_test(ask_features_not_embeddings "expected f32 \\[image tokens, 128\\]" ask -c pipelines/visual_features_only.json --image ${_vq_img} "q")
aviary_cli_error_test(ask_bad_heads "not divisible by 3 heads" ask -c pipelines/visual_bad_heads.json --image ${_vq_img} "q")

# The fixture's weights end to end through the example pipeline: input.png ->
# clip_vit -> visualrwkv_projection -> sandwich prompt -> bidirectional
# prefill -> greedy. The answer is the official code's (README_visual.md §1).
aviary_cli_test(ask_tiny_greedy ask -c ${_vq_pipe} --image ${_vq_img} --max-tokens 8
                "What animal is in the picture?\nAnswer the question using a single word or phrase."
                PASS_REGEX "^ GOPelman pattern tho arrestsquentiallexer convince\n$")
# --chat: a follow-up question on the kept state gives a second answer line.
add_test(NAME ask_tiny_chat COMMAND sh -c "printf 'Is it a cat?\\n' | \"$<TARGET_FILE:aviary_cli>\" ask -c ${_vq_pipe} --image ${_vq_img} --max-tokens 4 --chat 'What animal is it?'"
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(ask_tiny_chat PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "cli"
                     PASS_REGULAR_EXPRESSION "^[^\n]+\n[^\n]+\n$")
# Seeded sampling (tokgen's sampler) is reproducible; --layout first runs too.
add_test(NAME ask_tiny_sampled_reproducible
         COMMAND sh -c "a=$(\"$<TARGET_FILE:aviary_cli>\" ask -c ${_vq_pipe} --image ${_vq_img} --max-tokens 6 --temperature 1.0 --top-p 0.9 --seed 7 'What is it?') && b=$(\"$<TARGET_FILE:aviary_cli>\" ask -c ${_vq_pipe} --image ${_vq_img} --max-tokens 6 --temperature 1.0 --top-p 0.9 --seed 7 'What is it?') && [ -n \"$a\" ] && [ \"$a\" = \"$b\" ]"
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(ask_tiny_sampled_reproducible PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "cli")
# 49 = "User: " (User, :, space) + 37 image rows + "\nWhat is it?\n\n" (6) + "Assistant:" (3)
aviary_cli_test(ask_tiny_image_first ask -c ${_vq_pipe} --image ${_vq_img} --layout first --max-tokens 4 --stats "What is it?"
                PASS_REGEX "prefill [0-9.]+ s \\(49 tokens\\)")
