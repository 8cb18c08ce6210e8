# onda_module(NAME <module> [DIR <folder>] DEPS <targets...> [PUBLIC_LIBS <libs...>] [PRIVATE_LIBS <libs...>])
#   One folder under src/ (DIR, default NAME: e.g. media/av for media_av), one static library
#   onda_<module>, aliased onda::<module>. DEPS lists the modules it may use (DESIGN.md: dependencies
#   point downwards), so a wrong include fails to link. A subfolder with a README.md of its own is a
#   module of its own (media/av, app/media), not part of its parent's.
# onda_test(NAME <module> DEPS <targets...>)
#   tests/<module>/*_test.cpp as one GoogleTest executable registered with ctest.

# -Wno-mismatched-new-delete: GCC 12 misreads Asio's awaitable frame allocator (operator new/delete
# pairs of awaitable_frame_base) as mismatched in coroutines that are inlined; the pairing is right.
set(ONDA_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wno-missing-field-initializers
  -Wno-mismatched-new-delete)

function(onda_apply_common target)
  target_compile_options(${target} PRIVATE ${ONDA_WARNINGS})
  if(ONDA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(onda_module)
  cmake_parse_arguments(ARG "" "NAME;DIR" "DEPS;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  if(NOT ARG_DIR)
    set(ARG_DIR ${ARG_NAME})
  endif()
  file(GLOB sources CONFIGURE_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_DIR}/*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_DIR}/*/*.cpp)
  list(FILTER sources EXCLUDE REGEX "/main\\.cpp$")
  file(GLOB submodules LIST_DIRECTORIES true ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_DIR}/*/README.md)
  foreach(readme IN LISTS submodules)
    get_filename_component(submodule ${readme} DIRECTORY)
    list(FILTER sources EXCLUDE REGEX "^${submodule}/")
  endforeach()
  if(NOT sources)
    # A module still being written: headers only, so the rest of the tree configures.
    add_library(onda_${ARG_NAME} INTERFACE)
    add_library(onda::${ARG_NAME} ALIAS onda_${ARG_NAME})
    target_include_directories(onda_${ARG_NAME} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(onda_${ARG_NAME} INTERFACE ${ARG_DEPS} ${ARG_PUBLIC_LIBS})
    return()
  endif()
  add_library(onda_${ARG_NAME} STATIC ${sources})
  # The one-off Asio/Beast implementation units compile without the precompiled header. Under the
  # sanitizers GCC 12 reports a false -Wmaybe-uninitialized inside Beast's parser (a boost::optional
  # it cannot follow through ASan's instrumentation); that code is Boost's, not ours.
  foreach(source IN LISTS sources)
    if(source MATCHES "_impl\\.cpp$")
      set_source_files_properties(${source} PROPERTIES SKIP_PRECOMPILE_HEADERS ON COMPILE_OPTIONS -Wno-maybe-uninitialized)
    endif()
  endforeach()
  add_library(onda::${ARG_NAME} ALIAS onda_${ARG_NAME})
  target_include_directories(onda_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(onda_${ARG_NAME} PUBLIC ${ARG_DEPS} ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  target_precompile_headers(onda_${ARG_NAME} REUSE_FROM onda_pch)
  onda_apply_common(onda_${ARG_NAME})
endfunction()

function(onda_test)
  cmake_parse_arguments(ARG "" "NAME" "DEPS;LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  add_executable(${ARG_NAME}_test ${sources})
  target_link_libraries(${ARG_NAME}_test PRIVATE ${ARG_DEPS} ${ARG_LIBS} onda_test_support GTest::gtest_main GTest::gmock)
  target_precompile_headers(${ARG_NAME}_test REUSE_FROM onda_pch)
  onda_apply_common(${ARG_NAME}_test)
  gtest_discover_tests(${ARG_NAME}_test DISCOVERY_TIMEOUT 60 PROPERTIES LABELS ${ARG_NAME})
endfunction()

# ASan with UBSan's cheap checks (overflow, shifts, bounds, enums, unreachable, return...). The
# vptr, alignment, null, object-size and pointer-overflow checks are left out: they made each file
# three times slower to compile (a fresh CI build went past 30 minutes on 2 cores), and ASan already
# traps null and out-of-object accesses. A UBSan finding aborts the process (-fno-sanitize-recover),
# as an ASan one does: a report that only went to a server's log would let its test pass.
if(ONDA_SANITIZE)
  set(onda_sanitizers -fsanitize=address,undefined -fno-sanitize=vptr,alignment,null,object-size,pointer-overflow
                      -fno-sanitize-recover=undefined)
  add_compile_options(${onda_sanitizers} -fno-omit-frame-pointer)
  add_link_options(${onda_sanitizers})
endif()
