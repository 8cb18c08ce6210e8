// Waiting for something another process or thread does: polls `condition` until it holds or the
// deadline passes, and says whether it held.
#pragma once

#include <chrono>
#include <functional>

namespace onda::test {

bool eventually(std::function<bool()> const& condition, std::chrono::milliseconds deadline = std::chrono::seconds(15));

}  // namespace onda::test
