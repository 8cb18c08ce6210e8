// Waveform peaks for `waveform.json`: the loudest sample of each slice of the audio (about ten a
// second), as 0..1 of full scale, so a player can draw the track before it plays.
#pragma once

#include <cstdint>
#include <vector>

#include <string>

namespace onda::media {

class PeakMeter {
public:
    PeakMeter(int sample_rate, double peaks_per_second);

    // Planar float samples: planes[c][0..samples) for each of `channels` channels.
    void add(float const* const* planes, int channels, int samples);
    // {"duration": seconds of audio added, "peaks": [...]}; the last slice may be shorter.
    std::string to_json() const;

private:
    int sample_rate_;
    std::int64_t slice_samples_;
    std::int64_t in_slice_ = 0;  // samples of the current slice seen so far
    std::int64_t total_ = 0;
    float current_ = 0;
    std::vector<float> peaks_;
};

}  // namespace onda::media
