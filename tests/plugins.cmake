# Plugins and pipelines (issue 4): the plugin registry, pipeline validation
# and execution, `aviary plugins` / `aviary run`, the template plugin in tree
# and out of tree (against `cmake --install`).

# Test-only plugins go into their own folder (never installed).
set(AVIARY_TEST_PLUGIN_DIR "${CMAKE_CURRENT_BINARY_DIR}/plugins")
set(_tp_variants tp_sum tp_grow tp_fail tp_matrix tp_image tp_dtype bad_abi bad_minor no_entry bad_desc)
set(_tp_i 0)
foreach(_tp IN LISTS _tp_variants)
  math(EXPR _tp_i "${_tp_i} + 1")
  add_library(${_tp} MODULE ${CMAKE_CURRENT_SOURCE_DIR}/plugins/test_plugins.c)
  target_compile_definitions(${_tp} PRIVATE TP_VARIANT=${_tp_i})
  target_link_libraries(${_tp} PRIVATE aviary)
  set_target_properties(${_tp} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
                        LIBRARY_OUTPUT_DIRECTORY "${AVIARY_TEST_PLUGIN_DIR}")
endforeach()
# A file that is not a shared object at all: must be skipped with dlopen's reason.
file(WRITE "${AVIARY_TEST_PLUGIN_DIR}/garbage.so" "this is not a shared object\n")

# The template plugin, built in tree as the examples show it (into the test
# plugin dir, not installed).
function(_aviary_add_template_plugin)
  set(AVIARY_PLUGIN_BUILD_DIR "${AVIARY_TEST_PLUGIN_DIR}")
  unset(AVIARY_PLUGIN_INSTALL_DIR)
  add_subdirectory("${PROJECT_SOURCE_DIR}/examples/plugin-template" "${CMAKE_CURRENT_BINARY_DIR}/plugin-template")
endfunction()
_aviary_add_template_plugin()

set(_plugin_env ${AVIARY_TEST_ENV})
list(FILTER _plugin_env EXCLUDE REGEX "^AVIARY_PLUGIN_PATH=")
list(APPEND _plugin_env "AVIARY_PLUGIN_PATH=${AVIARY_TEST_PLUGIN_DIR}:${AVIARY_PLUGIN_BUILD_DIR}")
set(_plugin_deps template_series ${_tp_variants})

function(_plugin_test_env name)
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${_plugin_env}")
endfunction()

# ---- unit tests
aviary_c_test(test_plugin test_plugin.c LABELS plugins)
target_compile_definitions(test_plugin PRIVATE TEST_PLUGIN_DIR="${AVIARY_TEST_PLUGIN_DIR}")
add_dependencies(test_plugin ${_plugin_deps})
aviary_c_test(test_pipeline test_pipeline.c LABELS plugins)
target_compile_definitions(test_pipeline PRIVATE TEST_PLUGIN_DIR="${AVIARY_TEST_PLUGIN_DIR}")
add_dependencies(test_pipeline ${_plugin_deps})

# ---- aviary plugins
aviary_cli_test(plugins_list plugins PASS_REGEX "template_series  \\(encoder, version 1\\.0\\.0, ABI 1\\.0\\)")
_plugin_test_env(plugins_list)
aviary_cli_test(plugins_skipped_abi plugins PASS_REGEX
  "bad_abi\\.so: ABI mismatch: built for plugin ABI 2\\.0, this aviary [0-9.]+ supports 1\\.0 to 1\\.0")
_plugin_test_env(plugins_skipped_abi)
aviary_cli_test(plugins_skipped_minor plugins PASS_REGEX "bad_minor\\.so: ABI mismatch: built for plugin ABI 1\\.1,")
_plugin_test_env(plugins_skipped_minor)
aviary_cli_test(plugins_skipped_symbol plugins PASS_REGEX "no_entry\\.so: missing symbol aviary_plugin_entry")
_plugin_test_env(plugins_skipped_symbol)
aviary_cli_test(plugins_skipped_dlopen plugins PASS_REGEX "garbage\\.so: cannot load: ")
_plugin_test_env(plugins_skipped_dlopen)
aviary_cli_test(plugins_skipped_desc plugins PASS_REGEX "bad_desc\\.so: bad descriptor: name is not")
_plugin_test_env(plugins_skipped_desc)
aviary_cli_test(plugins_one plugins tp_sum PASS_REGEX "x +features tensor f32 \\[N\\]")
_plugin_test_env(plugins_one)
aviary_cli_error_test(plugins_refused_abi "plugin 'bad_abi': .*bad_abi\\.so was skipped: ABI mismatch" plugins bad_abi)
_plugin_test_env(plugins_refused_abi)

# ---- aviary run: the template plugin in a pipeline (28.5, 0 by hand; + 1.5 -> 30)
aviary_cli_test(run_template_pipeline run ${PROJECT_SOURCE_DIR}/examples/plugin-template/pipeline.json
  --in "values=1 2 3" PASS_REGEX "features\\.features: f32 \\[2\\]\n28\\.5 0\n")
_plugin_test_env(run_template_pipeline)
aviary_cli_test(run_two_stages run pipelines/good_sum.json --in "values=1,2,3" --json
  PASS_REGEX "\"total\": {\"dtype\": \"f32\", \"shape\": \\[1\\], \"data\": \\[30\\]}")
_plugin_test_env(run_two_stages)
aviary_cli_test(run_check run pipelines/good_sum.json --check PASS_REGEX "--in values=TEXT  \\(series\\)")
_plugin_test_env(run_check)

# ---- every validation error, with its JSON path
set(_bad
  "unknown_key|stages\\[0\\]\\.weight: unknown key \\(expected name, plugin, weights, options, inputs, input\\)"
  "unknown_top_key|pipelines/unknown_top_key\\.json: stage: unknown key"
  "wrong_type|stages\\[2\\]\\.options\\.top_k: expected integer$"
  "wrong_type_float|stages\\[0\\]\\.options\\.activation: expected string$"
  "missing_weights|stages\\[0\\]\\.weights: file not found: pipelines/no-such-weights\\.safetensors"
  "no_producer|stages\\[0\\]\\.inputs\\.x: no producer: connect this features tensor input"
  "no_producer_stage|stages\\[1\\]\\.inputs\\.x: no producer: there is no stage 'encoder' \\(stages before this one: enc\\)"
  "later_producer|stages\\[1\\]\\.inputs\\.x: no producer: stage 'enc2' does not run before this one"
  "shape_mismatch|stages\\[2\\]\\.input: shape mismatch: mat\\.m is \\[2, N\\], but input 'x' of plugin tp_sum takes \\[N\\]"
  "modality_mismatch|stages\\[1\\]\\.inputs\\.pixels: modality mismatch: enc\\.features is features, but input 'pixels' of plugin tp_image takes image"
  "tensor_from_cli|stages\\[0\\]\\.inputs\\.x: '\\$x' is a command-line input"
  "unknown_option|stages\\[0\\]\\.options\\.scal: unknown option \\(plugin template_series takes scale, activation\\)"
  "missing_option|stages\\[1\\]\\.options\\.label: missing \\(plugin tp_matrix requires it"
  "unknown_plugin|stages\\[0\\]\\.plugin: plugin 'no_such_plugin' not found \\(searched "
  "bad_abi|stages\\[0\\]\\.plugin: plugin 'bad_abi': .*bad_abi\\.so was skipped: ABI mismatch: built for plugin ABI 2\\.0, this aviary [0-9.]+ supports 1\\.0 to 1\\.0"
  "bad_minor|stages\\[0\\]\\.plugin: plugin 'bad_minor': .*ABI mismatch: built for plugin ABI 1\\.1, .*upgrade aviary"
  "bad_json|pipelines/bad_json\\.json: not valid JSON \\(near line 2, column"
  "duplicate_stage|stages\\[1\\]\\.name: stage name 'template_series' is used twice"
  "no_stages|pipelines/no_stages\\.json: stages: empty"
  "backbone_missing|backbone\\.checkpoint: file not found: pipelines/no-such-model\\.pth"
  "backbone_threads|backbone\\.threads: expected integer$"
  "bad_output|outputs\\[0\\]: no producer: stage 'enc' \\(plugin template_series\\) has no output 'feature'"
  "create_fail|plugin template_series \\(stage 'enc', .*template_series\\.so\\): create: option activation: expected none, relu or tanh, got \"gelu\""
  "run_fail|plugin tp_fail \\(stage 'fail'\\): tp_fail: deliberate failure in run"
  "run_grow|plugin tp_grow \\(stage 'grow'\\) output 'y': shape \\[4\\] does not fit \\[N\\] \\(dim 0 is 4, but N = 3\\)"
  "run_dtype|plugin tp_dtype \\(stage 'dt'\\) output 'y': dtype i32, expected f32")
foreach(_case IN LISTS _bad)
  string(FIND "${_case}" "|" _bar)
  string(SUBSTRING "${_case}" 0 ${_bar} _name)
  math(EXPR _bar "${_bar} + 1")
  string(SUBSTRING "${_case}" ${_bar} -1 _re)
  aviary_cli_error_test(pipeline_error_${_name} "${_re}" run pipelines/${_name}.json --in "values=1 2 3")
  _plugin_test_env(pipeline_error_${_name})
endforeach()
aviary_cli_error_test(run_missing_input "input 'values' not given \\(series text: .*use --in values=VALUE\\)"
  run pipelines/good_sum.json)
_plugin_test_env(run_missing_input)
aviary_cli_error_test(run_unknown_input "unknown input 'value' \\(this pipeline takes: values\\)"
  run pipelines/good_sum.json --in value=1)
_plugin_test_env(run_unknown_input)
aviary_cli_error_test(run_bad_out "run: --out nope: the pipeline has no output 'nope'"
  run pipelines/good_sum.json --in values=1 --out nope=x.txt)
_plugin_test_env(run_bad_out)
aviary_cli_error_test(run_plugin_error "plugin template_series \\(stage 'enc'\\): input values: \"abc\" is not a number"
  run pipelines/good_sum.json --in values=abc)
_plugin_test_env(run_plugin_error)
aviary_cli_error_test(run_no_file "nope\\.json: cannot open the pipeline file" run pipelines/nope.json)
_plugin_test_env(run_no_file)

# ---- --out writes through a temporary file; the content is checked by the script
add_test(NAME run_out_files COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/plugins/run_out.sh $<TARGET_FILE:aviary_cli>
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(run_out_files PROPERTIES ENVIRONMENT "${_plugin_env}" LABELS "cli;plugins")

# ---- the template out of tree, against an installed aviary (cmake --install into a temp prefix)
add_test(NAME plugin_template_out_of_tree
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/plugins/template_oot.sh ${CMAKE_COMMAND} ${CMAKE_CTEST_COMMAND}
                 ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}/examples/plugin-template)
set_tests_properties(plugin_template_out_of_tree PROPERTIES ENVIRONMENT "${AVIARY_TEST_ENV}"
                     LABELS "plugins;slow" TIMEOUT 300)
