# calib8_add_library(NAME <module> SRCS ... DEPS ...): one module, one static library target
# calib8_<module>, aliased calib8::<module>. Sources under src/<module>/, headers included as
# "<module>/x.h" from src/ and "calib8/x.h" from include/.
function(calib8_add_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(calib8_${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(calib8::${ARG_NAME} ALIAS calib8_${ARG_NAME})
  target_include_directories(calib8_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(calib8_${ARG_NAME} PUBLIC ${ARG_DEPS})
  calib8_enable_warnings(calib8_${ARG_NAME})
endfunction()

# calib8_add_test(NAME <test> SRCS ... DEPS ... [LABELS ...]): a GoogleTest executable in CTest.
function(calib8_add_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  calib8_enable_warnings(${ARG_NAME})
  gtest_discover_tests(${ARG_NAME} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "CALIB8_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
               LABELS "${ARG_LABELS}")
endfunction()
