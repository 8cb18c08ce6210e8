// Small, real media made in memory for tests: a PCM WAV with a tone, so uploads pass probing.
#pragma once

#include <string>

namespace onda::test {

// A mono 16-bit PCM WAV of `seconds` of a 440 Hz tone.
std::string make_wav(double seconds, int sample_rate = 8000);

// A WAV whose header announces MP3 audio (format tag 0x55) over data that is no MP3 at all: it probes
// as audio (the header is all a probe reads), and not one frame of it decodes.
std::string make_undecodable_wav();

}  // namespace onda::test
