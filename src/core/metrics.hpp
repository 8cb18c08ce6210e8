// Prometheus metrics (text exposition format 0.0.4). Metrics are registered at start-up, before
// threads run; updating them afterwards is lock-free (relaxed atomics) from any thread, and
// render() reads them for GET /metrics.
//
// Example:
//   auto& sent = registry.counter("onda_http_response_bytes_total", "Body bytes sent", {});
//   sent.add(n);
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace onda {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
public:
    void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
    void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
    std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

// Cumulative buckets of observed seconds; the sum is kept in microseconds.
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double seconds);
    std::vector<double> const& upper_bounds() const { return bounds_; }
    std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    double sum() const { return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6; }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // not cumulative; summed on render
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_micros_{0};
};

class MetricsRegistry {
public:
    // Returns the metric of that name and labels, creating it (and its family) on first use. Call
    // at start-up; the returned reference stays valid for the registry's life.
    Counter& counter(std::string_view name, std::string_view help, Labels labels);
    Gauge& gauge(std::string_view name, std::string_view help, Labels labels);
    Histogram& histogram(std::string_view name, std::string_view help, Labels labels,
                         std::vector<double> upper_bounds = default_latency_bounds());

    std::string render() const;

    static std::vector<double> default_latency_bounds();

private:
    enum class Type { counter, gauge, histogram };
    struct Series {
        Labels labels;
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
    };
    struct Family {
        std::string name;
        std::string help;
        Type type;
        std::deque<Series> series;
    };
    Family& family(std::string_view name, std::string_view help, Type type);
    Series& series(Family& family, Labels labels);

    mutable std::mutex mutex_;  // guards registration and render's walk, never the updates
    std::deque<Family> families_;
};

}  // namespace onda
