# Vision-RWKV: image input and preprocessing (tests/test_image.c), the
# chunked Bi-WKV, the backbones and heads through `aviary verify` on the
# vision-* fixtures (pixels, features, logits; debug mode adds the debug
# tensors of the v4 fixtures, whose every value must also match).
aviary_c_test(test_image test_image.c LABELS vision)
aviary_c_test(test_vision test_vision.c LABELS vision)
aviary_cli_test(verify_vision_vrwkv4_t verify fixtures/vision-vrwkv4-t)
aviary_cli_test(verify_vision_vrwkv4_postnorm verify fixtures/vision-vrwkv4-postnorm)
aviary_cli_test(verify_vision_vrwkv6 verify fixtures/vision-vrwkv6)
aviary_cli_test(verify_vision_vrwkv4_t_debug verify fixtures/vision-vrwkv4-t --mode debug)
aviary_cli_test(verify_vision_vrwkv4_postnorm_debug verify fixtures/vision-vrwkv4-postnorm --mode debug)
aviary_cli_test(verify_vision_vrwkv6_pixels verify fixtures/vision-vrwkv6 --mode pixels)
aviary_cli_error_test(vision_verify_bad_mode "modes are 'pixels', 'all' and 'debug'" verify fixtures/vision-vrwkv6 --mode nope)
