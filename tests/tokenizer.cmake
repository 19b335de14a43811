# Tokenizer, sampler, text generation and chat (issues 3 and 4): the World
# vocabulary fixture, unit tests, and `aviary generate` / `aviary chat` /
# the lm_generate pipeline on the 256-token fixture models.
aviary_cli_test(verify_tokenizer-world verify ${AVIARY_FIXTURES}/tokenizer-world PASS_REGEX "94 checked, 0 failed: PASS")
aviary_c_test(test_tokenizer test_tokenizer.c)
aviary_cli_error_test(tokenizer_error_missing_vocab "nope.txt: cannot open vocabulary"
                      verify ${AVIARY_FIXTURES}/tokenizer-world --weights nope.txt)
