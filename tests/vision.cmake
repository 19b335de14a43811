# Vision-RWKV: image input and preprocessing (tests/test_image.c), the
# chunked Bi-WKV, the backbones and heads through `aviary verify` on the
# vision-* fixtures (pixels, features, logits; debug mode adds the debug
# tensors of the v4 fixtures, whose every value must also match).
aviary_c_test(test_image test_image.c LABELS vision)
aviary_c_test(test_vision test_vision.c LABELS vision)
aviary_cli_test(verify_vision_vrwkv4_t verify fixtures/vision-vrwkv4-t)
aviary_cli_test(verify_vision_vrwkv4_postnorm verify fixtures/vision-vrwkv4-postnorm)
aviary_cli_test(verify_vision_vrwkv6 verify fixtures/vision-vrwkv6)
# The official torch.save checkpoints (model.pth), through the .pth reader.
aviary_cli_test(verify_vision_vrwkv4_t_pth verify fixtures/vision-vrwkv4-t --weights fixtures/vision-vrwkv4-t/model.pth
                PASS_REGEX "3 checked, 0 failed: PASS")
aviary_cli_test(verify_vision_vrwkv4_postnorm_pth verify fixtures/vision-vrwkv4-postnorm
                --weights fixtures/vision-vrwkv4-postnorm/model.pth PASS_REGEX "3 checked, 0 failed: PASS")
aviary_cli_test(verify_vision_vrwkv6_pth verify fixtures/vision-vrwkv6 --weights fixtures/vision-vrwkv6/model.pth
                PASS_REGEX "3 checked, 0 failed: PASS")
aviary_cli_test(verify_vision_vrwkv4_t_debug verify fixtures/vision-vrwkv4-t --mode debug)
aviary_cli_test(verify_vision_vrwkv4_postnorm_debug verify fixtures/vision-vrwkv4-postnorm --mode debug)
aviary_cli_test(verify_vision_vrwkv6_pixels verify fixtures/vision-vrwkv6 --mode pixels)
aviary_cli_error_test(vision_verify_bad_mode "modes are 'pixels', 'all' and 'debug'" verify fixtures/vision-vrwkv6 --mode nope)

# `aviary classify` / `aviary run` with the vision_rwkv + classifier plugins on
# the fixture weights (examples/classify/fixture-*.json). The expected top
# classes and probabilities are the softmax of the fixtures' expected logits.
aviary_cli_test(classify_vrwkv4_postnorm classify -c ../examples/classify/fixture-vrwkv4-postnorm.json
                fixtures/vision-vrwkv4-postnorm/input.png PASS_REGEX "1\\.  57\\.74%  bird  \\(class 2\\)")
aviary_cli_test(classify_vrwkv6_json classify -c ../examples/classify/fixture-vrwkv6.json
                fixtures/vision-vrwkv6/input.png --json PASS_REGEX "\"index\": 8, \"prob\": 0\\.4429")
aviary_cli_test(run_classify_vrwkv6 run ../examples/classify/fixture-vrwkv6.json
                --in image=fixtures/vision-vrwkv6/input.png PASS_REGEX "head\\.top: 8\t0\\.4429")
# image formats: grey, RGBA (alpha dropped), BMP, TGA and JPEG all decode
aviary_cli_test(classify_formats classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/gray.png
                corpus/image/rgba.png corpus/image/rgb.bmp corpus/image/rgb.tga corpus/image/rgb.jpg
                PASS_REGEX "rgb\\.jpg\n  1\\.")
# bad images and bad arguments: one clear line, non-zero exit, no output file
aviary_cli_error_test(classify_missing_image "nope.png: input 'image': file not found"
                      classify -c ../examples/classify/fixture-vrwkv6.json nope.png)
aviary_cli_error_test(classify_not_an_image "not_an_image.txt: not a readable image"
                      classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/not_an_image.txt)
aviary_cli_error_test(classify_truncated_jpeg "truncated.jpg: truncated JPEG"
                      classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/truncated.jpg)
aviary_cli_error_test(classify_truncated_png "truncated.png: truncated or corrupt image data"
                      classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/truncated.png)
aviary_cli_error_test(classify_no_config "no pipeline given" classify fixtures/vision-vrwkv6/input.png)
aviary_cli_error_test(classify_features_ext "must end in .npy"
                      classify -c ../examples/classify/fixture-vrwkv6.json fixtures/vision-vrwkv6/input.png --features f.txt)
aviary_cli_error_test(classify_bad_norm "options.norm: expected pre, post or auto"
                      classify -c pipelines/vision_bad_norm.json fixtures/vision-vrwkv6/input.png)
aviary_cli_error_test(classify_bad_labels "vision_three_labels.txt: 3 labels, the model has 10 classes"
                      classify -c pipelines/vision_bad_labels.json fixtures/vision-vrwkv6/input.png)
aviary_cli_error_test(classify_truncated_bmp "truncated.bmp: truncated image data"
                      classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/truncated.bmp)
# Found by fuzz_image: a DHT table with more than 256 codes makes Debian's stb
# write past its Huffman table; aviary refuses it first.
aviary_cli_error_test(classify_bad_huffman "bad_huffman.jpg: corrupt JPEG \\(Huffman table with more than 256 codes\\)"
                      classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/bad_huffman.jpg)
aviary_cli_error_test(classify_bad_huffman_header "bad_huffman_header.jpg: corrupt JPEG \\(Huffman table with more than 256 codes\\)"
                      classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/bad_huffman_header.jpg)
aviary_cli_error_test(classify_pnm_overflow "huge_number.pgm: corrupt PNM header \\(a number with more than 9 digits\\)"
                      classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/huge_number.pgm)
# Found by fuzz_image: a 16-bit greyscale PGM (stb 2.27's own RGB conversion
# read past its buffer; ASan fails this test without aviary's conversion).
aviary_cli_test(classify_grey16_pgm classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/grey16.pgm
                PASS_REGEX "grey16.pgm\n +1\\. ")
# Found by fuzz_image: a PNG chunk declaring 1.6 GB made Debian's stb grow its
# IDAT buffer to 2 GB before finding the file short; aviary refuses it first.
aviary_cli_error_test(classify_huge_idat "huge_idat.png: truncated or corrupt image data \\(a PNG chunk runs past the end of the file\\)"
                      classify -c ../examples/classify/fixture-vrwkv6.json corpus/image/huge_idat.png)
