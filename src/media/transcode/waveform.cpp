#include "media/transcode/waveform.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace onda::media {

PeakMeter::PeakMeter(int sample_rate, double peaks_per_second)
    : sample_rate_(sample_rate),
      slice_samples_(std::max<std::int64_t>(1, std::llround(sample_rate / std::max(peaks_per_second, 0.01)))) {}

void PeakMeter::add(float const* const* planes, int channels, int samples) {
    for (int i = 0; i < samples; ++i) {
        for (int c = 0; c < channels; ++c) {
            float const level = std::fabs(planes[c][i]);
            if (level > current_) current_ = level;  // NaN compares false and is left out
        }
        if (++in_slice_ == slice_samples_) {
            peaks_.push_back(std::min(current_, 1.0f));
            current_ = 0;
            in_slice_ = 0;
        }
    }
    total_ += samples;
}

// Written by hand: three decimals are finer than any drawing needs, and keep the file small (a JSON
// serializer would spell 0.587 as 5.87E-1).
std::string PeakMeter::to_json() const {
    double const duration = sample_rate_ > 0 ? double(total_) / sample_rate_ : 0.0;
    std::string text = fmt::format("{{\"duration\":{:.3f},\"peaks\":[", duration);
    text.reserve(text.size() + (peaks_.size() + 1) * 6);
    auto append = [&text](float peak, bool first) {
        if (!first) text += ',';
        fmt::format_to(std::back_inserter(text), "{:.3f}", peak);
    };
    for (std::size_t i = 0; i < peaks_.size(); ++i) append(peaks_[i], i == 0);
    if (in_slice_ > 0) append(std::min(current_, 1.0f), peaks_.empty());
    text += "]}";
    return text;
}

}  // namespace onda::media
