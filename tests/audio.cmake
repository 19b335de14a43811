# Audio front end: libsndfile input, resamplers, spectrogram front ends
# (tests/test_audio.c) and the audio-rwkv fixtures through `aviary verify`.
aviary_c_test(test_audio test_audio.c LABELS audio)
# Bidirectional blocks (aviary_bidir.h) against direct evaluations.
aviary_c_test(test_bidir test_bidir.c LABELS audio)
# Front end only (waveform, spectrogram, fbank): must pass.
aviary_cli_test(verify_audio_rwkv2024_frontend verify fixtures/audio-rwkv2024 --mode frontend)
aviary_cli_test(verify_audio_arwkv2025_frontend verify fixtures/audio-arwkv2025 --mode frontend)
# Full fixtures (spectrogram + encoder logits): fail until the encoders land.
aviary_cli_test(verify_audio_rwkv2024 verify fixtures/audio-rwkv2024)
aviary_cli_test(verify_audio_arwkv2025 verify fixtures/audio-arwkv2025)
aviary_cli_error_test(audio_verify_bad_mode "modes are 'frontend' and 'all'" verify fixtures/audio-arwkv2025 --mode nope)

# ---- tagging: front end cut to the model window, labels, windows, top-k
aviary_c_test(test_audio_tagging test_audio_tagging.c LABELS audio)
set(_tag2025 ../examples/audio-tagging/fixture-arwkv2025.json)
set(_tag2024 ../examples/audio-tagging/fixture-rwkv2024.json)
# The fixtures' expected top classes and probabilities (expected.safetensors):
# A-RWKV Didgeridoo 0.99370, AudioRWKV-2024 Rattle (instrument) 0.83082.
aviary_cli_test(audio_tag_2025 tag -c ${_tag2025} fixtures/audio-arwkv2025/input.wav PASS_REGEX "0\\.993[678]  Didgeridoo")
aviary_cli_test(audio_tag_2024 tag -c ${_tag2024} fixtures/audio-rwkv2024/input.wav PASS_REGEX "0\\.830[78]  Rattle \\(instrument\\)")
aviary_cli_test(audio_tag_json tag -c ${_tag2025} --json --top-k 1 fixtures/audio-arwkv2025/input.wav
                PASS_REGEX "\"top\": \\[{\"index\": [0-9]+, \"label\": \"Didgeridoo\", \"mid\": \"/m/[^\"]+\", \"prob\": 0\\.993")
aviary_cli_test(audio_run_2024 run ${_tag2024} --in audio=fixtures/audio-rwkv2024/input.wav PASS_REGEX "0\\.830[78]\tRattle \\(instrument\\)")
# 12.5 s clip, 10 s windows: layout from aviary_tagging.h (last window ends at the end)
aviary_cli_test(audio_tag_windows tag -c ${_tag2024} audio/tone_12s.wav
                PASS_REGEX "2 windows of 10\\.00 s \\(overlap 0\\.50\\), max over windows.*window 1  2\\.50-12\\.50 s")
aviary_cli_test(audio_tag_windows_overlap tag -c ${_tag2025} --overlap 0.9 --aggregate mean audio/tone_12s.wav
                PASS_REGEX "4 windows of 9\\.94 s \\(overlap 0\\.90\\), mean over windows")
aviary_cli_test(audio_tag_stream_wav tag -c ${_tag2024} --stream audio/tone_12s.wav --idle 0
                PASS_REGEX "window 1  2\\.50-12\\.50 s.*12\\.50 s, 2 windows, max over windows")
aviary_cli_test(audio_tag_stream_raw tag -c ${_tag2024} --stream audio/tone_3s_stereo.s16 --rate 8000 --channels 2 --idle 0 --json
                PASS_REGEX "{\"windows\": 1, \"seconds\": 3\\.000, \"aggregate\": \"max\"")
aviary_cli_test(audio_tag_silent tag -c ${_tag2025} audio/silent.wav PASS_REGEX "audio is silent")
# errors: one clear line, exit 1
aviary_cli_error_test(audio_tag_missing "audio/nope.wav: cannot open audio file" tag -c ${_tag2025} audio/nope.wav)
aviary_cli_error_test(audio_tag_not_audio "not_audio.wav: not a readable audio file" tag -c ${_tag2025} audio/not_audio.wav)
aviary_cli_error_test(audio_tag_empty "empty.wav: no audio samples" tag -c ${_tag2025} audio/empty.wav)
aviary_cli_error_test(audio_tag_short "short.wav: 0.0100 s of audio is too short, the model needs at least 0.025 s" tag -c ${_tag2025} audio/short.wav)
aviary_cli_error_test(audio_run_short "short.wav: 0.0100 s of audio is too short" run ${_tag2024} --in audio=audio/short.wav)
aviary_cli_error_test(audio_tag_stream_empty "empty.wav: no audio samples" tag -c ${_tag2025} --stream audio/empty.wav --idle 0)
aviary_cli_error_test(audio_tag_stream_short "too short, the model needs at least" tag -c ${_tag2025} --stream audio/short.wav --idle 0)
aviary_cli_error_test(audio_tag_stream_no_rate "give its sample rate with --rate" tag -c ${_tag2025} --stream audio/tone_3s_stereo.s16 --idle 0)
aviary_cli_error_test(audio_tag_bad_aggregate "--aggregate: expected max or mean" tag -c ${_tag2025} --aggregate median audio/silent.wav)
aviary_cli_error_test(audio_tag_bad_overlap "--overlap" tag -c ${_tag2025} --overlap 0.95 audio/silent.wav)
aviary_cli_error_test(audio_tag_no_pipeline "give the pipeline with -c" tag audio/silent.wav)
aviary_cli_error_test(audio_tag_not_audio_pipeline "needs an 'audio_rwkv' encoder stage" tag -c ../examples/forecast/pipeline.json audio/silent.wav)
aviary_cli_error_test(audio_tag_wrong_variant "options.variant is 2024 but the checkpoint is an A-RWKV-2025 model"
                      run pipelines/audio_wrong_variant.json --in audio=audio/silent.wav)

# the plugins on a clip longer than the window: two windows, per-window probabilities and tags
aviary_cli_test(audio_run_windows run ${_tag2024} --in audio=audio/tone_12s.wav
                PASS_REGEX "head.window_probs: f32 \\[2, 527\\].*window 2\\.50-12\\.50 s:")
# the plugins run by hand: waveform build against the fixture, file build bit-identical, head
add_executable(test_audio_plugins test_audio_plugins.c)
target_link_libraries(test_audio_plugins PRIVATE aviary m)
add_dependencies(test_audio_plugins audio_rwkv audio_rwkv_wave audio_tagging)
add_test(NAME test_audio_plugins COMMAND test_audio_plugins WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(test_audio_plugins PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "unit;audio;plugins")
# --stream from stdin (raw PCM)
add_test(NAME audio_tag_stream_stdin
         COMMAND sh -c "\"$<TARGET_FILE:aviary_cli>\" tag -c ${_tag2024} --stream - --rate 8000 --channels 2 < audio/tone_3s_stereo.s16"
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(audio_tag_stream_stdin PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "cli"
                     PASS_REGULAR_EXPRESSION "window 0  0\\.00-3\\.00 s: .*-: 3\\.00 s, 1 window, max over windows")
