# aviary_add_plugin(NAME src1.c [src2.c ...])
# Builds one plugin shared object named NAME.so (no "lib" prefix) that links
# libaviary. In the aviary tree it lands in the build tree's plugins/ folder
# (searched by the host last) and installs to the plugin install dir.
# Out of tree (after find_package(aviary)) it builds next to the project.
function(aviary_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
  if(TARGET aviary)
    target_link_libraries(${name} PRIVATE aviary)
  else()
    target_link_libraries(${name} PRIVATE aviary::aviary)
  endif()
  if(DEFINED AVIARY_PLUGIN_BUILD_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${AVIARY_PLUGIN_BUILD_DIR}")
  endif()
  if(DEFINED AVIARY_PLUGIN_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION "${AVIARY_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
