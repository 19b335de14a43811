# Tokenizer, sampler, text generation and chat (issues 3 and 4): the World
# vocabulary fixture, unit tests, and `aviary generate` / `aviary chat` /
# the lm_generate pipeline on the 256-token fixture models.
aviary_cli_test(verify_tokenizer-world verify ${AVIARY_FIXTURES}/tokenizer-world PASS_REGEX "94 checked, 0 failed: PASS")
aviary_c_test(test_tokenizer test_tokenizer.c)
aviary_cli_error_test(tokenizer_error_missing_vocab "nope.txt: cannot open vocabulary"
                      verify ${AVIARY_FIXTURES}/tokenizer-world --weights nope.txt)
aviary_c_test(test_sampler test_sampler.c)
aviary_c_test(test_generate test_generate.c)
foreach(fx lm-rwkv6 lm-rwkv7)
  add_test(NAME generate_chat_${fx} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/generate_check.sh $<TARGET_FILE:aviary_cli>
           ${AVIARY_FIXTURES}/${fx}/model.safetensors WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(generate_chat_${fx} PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "cli" PASS_REGULAR_EXPRESSION "PASS")
endforeach()
# Greedy generation prints exactly the tokens test_generate checks against the reference logits.
aviary_cli_test(generate_greedy_ids generate -m ${AVIARY_FIXTURES}/lm-rwkv6/model.safetensors
                --prompt-ids 0,17,200,5,5,99,255,1,42,128,7,64,64,64,3,250 -n 4 --temperature 0 --ids
                PASS_REGEX "^[0-9]+ [0-9]+ [0-9]+ [0-9]+\n$")
aviary_cli_test(generate_bf16_int8 generate -m ${AVIARY_FIXTURES}/lm-rwkv6/model.safetensors -p "hi" -n 4
                --precision int8 --threads 1 --seed 1 --ids PASS_REGEX "^[0-9]+ [0-9]+ [0-9]+ [0-9]+\n$")

# Clear one-line errors.
set(_m ${AVIARY_FIXTURES}/lm-rwkv6/model.safetensors)
aviary_cli_error_test(generate_error_missing_model "nope.safetensors" generate -m nope.safetensors -p hi)
aviary_cli_error_test(generate_error_no_prompt "exactly one of -p PROMPT, -f FILE and --prompt-ids" generate -m ${_m})
aviary_cli_error_test(generate_error_prompt_file "--prompt-file: nope.txt: cannot open" generate -m ${_m} -f nope.txt)
aviary_cli_error_test(generate_error_bad_top_p "--top-p: expected a number from 0 to 1, got '1.5'"
                      generate -m ${_m} -p hi --top-p 1.5)
aviary_cli_error_test(generate_error_bad_temperature "--temperature: expected a number" generate -m ${_m} -p hi --temperature x)
aviary_cli_error_test(generate_error_bad_seed "--seed: expected a non-negative integer" generate -m ${_m} -p hi --seed -3)
aviary_cli_error_test(generate_error_bad_ids "--prompt-ids: expected comma-separated token ids from 0 to 255"
                      generate -m ${_m} --prompt-ids 1,256)
aviary_cli_error_test(generate_error_bad_precision "--precision: expected auto, f32, bf16 or int8"
                      generate -m ${_m} -p hi --precision f8)
aviary_cli_error_test(generate_error_vocab_mismatch "has token ids up to 65529 but the model's vocabulary has only 256"
                      generate -m ${_m} -p hi --vocab ${AVIARY_FIXTURES}/tokenizer-world/rwkv_vocab_v20230424.txt)
aviary_cli_error_test(generate_error_bad_vocab "corpus/tokenizer/small.txt:5: not valid UTF-8"
                      generate -m ${_m} -p hi --vocab corpus/tokenizer/small.txt)
aviary_cli_error_test(generate_error_state_in "nope.state: cannot open" generate -m ${_m} -p hi --state-in nope.state)
aviary_cli_error_test(generate_error_state_bad "model.safetensors: not an aviary state file" generate -m ${AVIARY_FIXTURES}/lm-rwkv7/model.safetensors
                      -p hi --state-in ${AVIARY_FIXTURES}/lm-rwkv6/model.safetensors)
aviary_cli_error_test(generate_error_unknown_option "generate: unknown or incomplete option '--bogus'"
                      generate -m ${_m} -p hi --bogus)
aviary_cli_error_test(chat_error_no_model "chat: -m MODEL is required" chat)
aviary_cli_error_test(chat_error_unknown_option "chat: unknown or incomplete option '-p'" chat -m ${_m} -p hi)

# The lm_generate head plugin (examples/chat) on fixture models.
add_test(NAME lm_generate_pipeline COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/lm_pipeline_check.sh $<TARGET_FILE:aviary_cli>
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(lm_generate_pipeline PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "cli;plugins" PASS_REGULAR_EXPRESSION "PASS")
aviary_cli_test(lm_generate_check run pipelines/lm_generate_chat.json --check PASS_REGEX "--in prompt=TEXT")
aviary_cli_error_test(lm_generate_error_no_backbone "lm_generate needs the pipeline's \"backbone\""
                      run pipelines/lm_generate_no_backbone.json --in prompt=x)
aviary_cli_error_test(lm_generate_error_bad_top_p "top_p must be in \\[0, 1\\]" run pipelines/lm_generate_bad_top_p.json --in prompt=x)

# aviary tokenize, and the vocabulary found after `cmake --install`.
aviary_cli_test(tokenize_world tokenize "Hello, world! 123 4567 89.5" PASS_REGEX "^33155 45 40213 34 3485 52 3518 687 3562 47 54\n$")
aviary_cli_test(tokenize_decode tokenize --decode 24281 59 33 10464 11685 261 5585 41693 59
                PASS_REGEX "^User: 你好\n\nAssistant:\n$")
aviary_cli_error_test(tokenize_error_decode_range "--decode: expected an integer from 0 to 65529, got '70000'"
                      tokenize --decode 70000)
add_test(NAME vocab_install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/vocab_install.sh ${CMAKE_COMMAND} ${PROJECT_BINARY_DIR})
set_tests_properties(vocab_install PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "cli;slow" PASS_REGULAR_EXPRESSION "PASS")
# Found by fuzz_tokenizer: a literal that ends the file right after its quote
# (UBSan: arithmetic on a NULL buffer before the fix).
aviary_cli_error_test(generate_error_vocab_unterminated "corpus/tokenizer/unterminated.txt:1: unterminated literal"
                      generate -m ${_m} -p hi --vocab corpus/tokenizer/unterminated.txt)
