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
