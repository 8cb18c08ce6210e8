// What the fuzz targets use to state a property: ONDA_FUZZ_CHECK(cond, why) prints the failed
// condition and aborts, which libFuzzer reports as a crash and saves the input that caused it.
// Unlike assert() it cannot be compiled out by NDEBUG.
#pragma once

#include <cstdio>
#include <cstdlib>

#define ONDA_FUZZ_CHECK(cond, why) \
    ((cond) ? static_cast<void>(0) : ::onda::fuzz::check_failed(#cond, why, __FILE__, __LINE__))

namespace onda::fuzz {

[[noreturn]] inline void check_failed(char const* cond, char const* why, char const* file, int line) {
    std::fprintf(stderr, "fuzz property failed at %s:%d: %s (%s)\n", file, line, cond, why);
    std::abort();
}

}  // namespace onda::fuzz
