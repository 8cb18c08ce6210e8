#include "support/eventually.hpp"

#include <thread>

namespace onda::test {

bool eventually(std::function<bool()> const& condition, std::chrono::milliseconds deadline) {
    auto const until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return condition();
}

}  // namespace onda::test
