#include "core/metrics.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace onda {
namespace {

std::string escape_label(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string label_text(Labels const& labels, std::string_view extra_name = {}, std::string_view extra_value = {}) {
    std::string out;
    for (auto const& [name, value] : labels) {
        out += out.empty() ? "{" : ",";
        out += name + "=\"" + escape_label(value) + "\"";
    }
    if (!extra_name.empty()) {
        out += out.empty() ? "{" : ",";
        out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
    }
    if (!out.empty()) out += "}";
    return out;
}

std::string number_text(double value) {
    if (value == static_cast<double>(static_cast<std::int64_t>(value)))
        return fmt::format("{}", static_cast<std::int64_t>(value));
    return fmt::format("{}", value);
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double seconds) {
    std::size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    if (seconds > 0) sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::vector<double> MetricsRegistry::default_latency_bounds() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help, Type type) {
    for (auto& f : families_)
        if (f.name == name) {
            ONDA_ASSERT(f.type == type, "a metric name is registered with one type");
            return f;
        }
    families_.push_back(Family{std::string(name), std::string(help), type, {}});
    return families_.back();
}

MetricsRegistry::Series& MetricsRegistry::series(Family& f, Labels labels) {
    for (auto& s : f.series)
        if (s.labels == labels) return s;
    f.series.push_back(Series{std::move(labels), nullptr, nullptr, nullptr});
    return f.series.back();
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, Labels labels) {
    std::lock_guard lock(mutex_);
    auto& s = series(family(name, help, Type::counter), std::move(labels));
    if (!s.counter) s.counter = std::make_unique<Counter>();
    return *s.counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, Labels labels) {
    std::lock_guard lock(mutex_);
    auto& s = series(family(name, help, Type::gauge), std::move(labels));
    if (!s.gauge) s.gauge = std::make_unique<Gauge>();
    return *s.gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help, Labels labels,
                                      std::vector<double> upper_bounds) {
    std::lock_guard lock(mutex_);
    auto& s = series(family(name, help, Type::histogram), std::move(labels));
    if (!s.histogram) s.histogram = std::make_unique<Histogram>(std::move(upper_bounds));
    return *s.histogram;
}

std::string MetricsRegistry::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (auto const& f : families_) {
        char const* type = f.type == Type::counter ? "counter" : f.type == Type::gauge ? "gauge" : "histogram";
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, type);
        for (auto const& s : f.series) {
            if (s.counter) out += fmt::format("{}{} {}\n", f.name, label_text(s.labels), s.counter->value());
            if (s.gauge) out += fmt::format("{}{} {}\n", f.name, label_text(s.labels), s.gauge->value());
            if (s.histogram) {
                auto const& h = *s.histogram;
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i < h.upper_bounds().size(); ++i) {
                    cumulative += h.bucket(i);
                    out += fmt::format("{}_bucket{} {}\n", f.name,
                                       label_text(s.labels, "le", number_text(h.upper_bounds()[i])), cumulative);
                }
                cumulative += h.bucket(h.upper_bounds().size());
                out += fmt::format("{}_bucket{} {}\n", f.name, label_text(s.labels, "le", "+Inf"), cumulative);
                out += fmt::format("{}_sum{} {}\n", f.name, label_text(s.labels), h.sum());
                out += fmt::format("{}_count{} {}\n", f.name, label_text(s.labels), h.count());
            }
        }
    }
    return out;
}

}  // namespace onda
