// Small, real media made in memory for tests: a PCM WAV with a tone, so uploads pass probing.
#pragma once

#include <string>

namespace onda::test {

// A mono 16-bit PCM WAV of `seconds` of a 440 Hz tone.
std::string make_wav(double seconds, int sample_rate = 8000);

}  // namespace onda::test
