# RWKV-TS forecasting: CSV input (tests/test_csv.c, also the evaluation
# helpers), the ts-* fixtures through `aviary verify` (safetensors and .pth),
# `aviary forecast` end to end (tests/ts/check_forecast.sh), the official
# evaluation protocol's numbers, and clear errors for bad input.
aviary_c_test(test_csv test_csv.c LABELS ts)

aviary_cli_test(verify_ts_rwkv_small verify fixtures/ts-rwkv-small PASS_REGEX "10 checked, 0 failed: PASS")
aviary_cli_test(verify_ts_rwkv_small_pth verify fixtures/ts-rwkv-small --weights fixtures/ts-rwkv-small/model.pth
                PASS_REGEX "10 checked, 0 failed: PASS")
aviary_cli_test(verify_ts_weather verify fixtures/ts-rwkv-weather-trained PASS_REGEX "8 checked, 0 failed: PASS")
aviary_cli_test(verify_ts_weather_pth verify fixtures/ts-rwkv-weather-trained
                --weights fixtures/ts-rwkv-weather-trained/model.pth PASS_REGEX "8 checked, 0 failed: PASS")

add_test(NAME ts_forecast_cli COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/ts/check_forecast.sh $<TARGET_FILE:aviary_cli>
         ${CMAKE_CURRENT_BINARY_DIR}/ts_out WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(ts_forecast_cli PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "cli;ts"
                     PASS_REGULAR_EXPRESSION "check_forecast: all passed")

# The shipped model's reference test metrics (fixture.json metrics: official
# test() mse 0.117365 / mae 0.205191, drop_last) and the baselines on the same
# windows, to 4 significant digits. Also without drop_last (all 4968 windows;
# naive's reference 0.29925 is a tie at 4 digits, hence 0.299[23]).
aviary_cli_test(ts_eval_weather forecast -c ts/weather.json fixtures/ts-rwkv-weather-trained/seattle_hourly_normals.csv --eval
  PASS_REGEX "test mse/mae: RWKV-TS mse 0\\.1174 mae 0\\.2052 \\| naive mse 0\\.3005 mae 0\\.4014 \\| seasonal-naive\\(24\\) mse 0\\.08536 mae 0\\.1709")
aviary_cli_test(ts_eval_weather_all_windows forecast -c ts/weather.json
  fixtures/ts-rwkv-weather-trained/seattle_hourly_normals.csv --eval --no-drop-last
  PASS_REGEX "test mse/mae: RWKV-TS mse 0\\.1168 mae 0\\.2048 \\| naive mse 0\\.299[23] mae 0\\.4006 \\| seasonal-naive\\(24\\) mse 0\\.08512 mae 0\\.171")

# Bad input: one clear line, exit 1 or 2.
set(_w fixtures/ts-rwkv-weather-trained/seattle_hourly_normals.csv)
aviary_cli_error_test(ts_err_no_config "need -c PIPELINE.json" forecast ${_w})
aviary_cli_error_test(ts_err_no_data "need -c PIPELINE.json and a DATA.csv" forecast -c ts/weather.json)
aviary_cli_error_test(ts_err_unknown_option "unknown option '--horizn'" forecast -c ts/weather.json ${_w} --horizn 5)
aviary_cli_error_test(ts_err_horizon_zero "--horizon: expected an integer from 1" forecast -c ts/weather.json ${_w} --horizon 0)
aviary_cli_error_test(ts_err_horizon_text "--horizon: expected an integer" forecast -c ts/weather.json ${_w} --horizon soon)
aviary_cli_error_test(ts_err_horizon_missing "--horizon needs a value" forecast -c ts/weather.json ${_w} --horizon)
aviary_cli_error_test(ts_err_two_files "more than one data file" forecast -c ts/weather.json ${_w} ts/daily.csv)
aviary_cli_error_test(ts_err_modes "exclude each other" forecast -c ts/weather.json ${_w} --eval --stream)
aviary_cli_error_test(ts_err_scale "--scale: expected train, all or none" forecast -c ts/weather.json ${_w} --scale zscore)
aviary_cli_error_test(ts_err_split "--split: expected auto, custom, ett_h or ett_m" forecast -c ts/weather.json ${_w} --eval --split ett)
aviary_cli_error_test(ts_err_no_file "nope.csv: cannot open" forecast -c ts/weather.json nope.csv)
aviary_cli_error_test(ts_err_text_cell "daily_text.csv:202: column 'temp': 'warm' is not a number"
                      forecast -c ts/weather.json ts/daily_text.csv)
aviary_cli_error_test(ts_err_missing_cell "daily_gap.csv:391: column 'temp': missing value"
                      forecast -c ts/weather.json ts/daily_gap.csv)
aviary_cli_test(ts_fill_forward forecast -c ts/weather.json ts/daily_gap.csv --fill-forward --horizon 3
                PASS_REGEX "missing cells filled forward")
aviary_cli_error_test(ts_err_ragged "ragged.csv:3: row has 3 fields, the header has 2" forecast -c ts/weather.json corpus/csv/ragged.csv)
aviary_cli_error_test(ts_err_empty "empty.csv: empty file" forecast -c ts/weather.json corpus/csv/empty.csv)
aviary_cli_error_test(ts_err_no_header "noheader.csv:1: no header row" forecast -c ts/weather.json corpus/csv/noheader.csv)
aviary_cli_error_test(ts_err_unknown_column "no column named 'humidity' \\(columns: date, pressure, temperature, wind\\)"
                      forecast -c ts/weather.json ${_w} --columns pressure,humidity)
aviary_cli_error_test(ts_err_too_few_rows "hourly.csv: 2 data rows, the model needs at least seq_len = 336"
                      forecast -c ts/weather.json corpus/csv/hourly.csv)
aviary_cli_error_test(ts_err_target "--target: 'rain' is not one of the chosen columns" forecast -c ts/weather.json ${_w} --eval --target rain)
aviary_cli_error_test(ts_err_plot_dir "no/such/dir/f.png: cannot write" forecast -c ts/weather.json ${_w} --plot no/such/dir/f.png)
aviary_cli_error_test(ts_err_out_dir "no/such/dir/f.csv: cannot write" forecast -c ts/weather.json ${_w} --out no/such/dir/f.csv)
# Bad pipelines.
aviary_cli_error_test(ts_err_pipe_missing "nope.json: cannot read the pipeline file" forecast -c nope.json ${_w})
aviary_cli_error_test(ts_err_pipe_json "not_json.json: not valid JSON" forecast -c ts/not_json.json ${_w})
aviary_cli_error_test(ts_err_pipe_seq_len "stages\\[0\\].options.seq_len: missing" forecast -c ts/no_seq_len.json ${_w})
aviary_cli_error_test(ts_err_pipe_type "stages\\[0\\].options.seq_len: expected an integer" forecast -c ts/bad_type.json ${_w})
aviary_cli_error_test(ts_err_pipe_option "stages\\[0\\].options.strde: unknown option" forecast -c ts/unknown_option.json ${_w})
aviary_cli_error_test(ts_err_pipe_head "needs a 'ts_patch' encoder and a 'ts_forecast' head" forecast -c ts/no_head.json ${_w})
aviary_cli_error_test(ts_err_pipe_weights "no_such_model.safetensors: cannot" forecast -c ts/missing_weights.json ${_w})
aviary_cli_error_test(ts_err_pipe_stride "out_layer expects 42 patches, but seq_len 336, stride 16 and patch_len 16 give 22"
                      forecast -c ts/bad_stride.json ${_w})
aviary_cli_error_test(ts_err_pipe_head_option "stages\\[1\\].options.steps: unknown option \\(ts_forecast takes horizon\\)"
                      forecast -c ts/bad_head_option.json ${_w})

# The plugins through the registry, run by hand against the reference. Linked
# against the SHARED libaviary, like the aviary command and the plugins
# themselves, so that they all share one error message and one set of globals.
add_executable(test_ts_plugins test_ts_plugins.c)
target_link_libraries(test_ts_plugins PRIVATE aviary m)
add_dependencies(test_ts_plugins ts_patch ts_forecast)
add_test(NAME test_ts_plugins COMMAND test_ts_plugins WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(test_ts_plugins PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}" LABELS "unit;ts;plugins")

# The demo pipeline through the generic runner (`aviary run`, plugins
# ts_patch + ts_forecast): first row = the reference forecast_raw_tail[0]
# (1017.44934, 3.8730936, 3.8928905) to the digits shown.
aviary_cli_test(ts_run_pipeline run ts/weather.json --in series=fixtures/ts-rwkv-weather-trained/seattle_hourly_normals.csv
  PASS_REGEX "head.forecast: f32 \\[96, 3\\][\r\n]+1017\\.44[0-9]* 3\\.873[0-9]* 3\\.892[0-9]*")
aviary_cli_test(ts_run_example_check run ../examples/forecast/pipeline.json --check PASS_REGEX "series")
