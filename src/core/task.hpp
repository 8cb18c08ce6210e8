// Coroutines and the glue around them.
//
// Task<T> is the coroutine type of onda (an Asio awaitable). Completion tokens:
//   use_result: returns the error as a value, for code that branches on it: `auto [ec, n] = co_await ...`
//   use_task:   throws on error, for code where any failure ends the task anyway.
// offload(pool, fn, args...) runs a blocking function on the blocking pool and resumes the caller on
// its own executor with the result. spawn(executor, task, "what") starts a task whose one catch site
// logs a failure under that name.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace onda {

namespace net = boost::asio;

template <class T = void>
using Task = net::awaitable<T>;

inline constexpr auto use_task = net::use_awaitable;
inline constexpr auto use_result = net::as_tuple(net::use_awaitable);

// Runs fn(args...) on `pool` and returns its result to the calling coroutine, which resumes on its
// own executor. An exception thrown by fn is rethrown in the caller. The arguments are moved into
// the job, so references the caller holds need not outlive the wait.
template <class Fn, class... Args>
Task<std::invoke_result_t<Fn, Args...>> offload(net::thread_pool& pool, Fn fn, Args... args) {
    using R = std::invoke_result_t<Fn, Args...>;
    using Outcome = std::conditional_t<std::is_void_v<R>, bool, std::optional<R>>;
    auto initiate = [&pool, fn = std::move(fn), ... args = std::move(args)](auto handler) mutable {
        net::post(pool, [fn = std::move(fn), ... args = std::move(args), handler = std::move(handler)]() mutable {
            std::exception_ptr failure;
            Outcome outcome{};
            try {
                if constexpr (std::is_void_v<R>) {
                    std::invoke(std::move(fn), std::move(args)...);
                    outcome = true;
                } else {
                    outcome.emplace(std::invoke(std::move(fn), std::move(args)...));
                }
            } catch (...) {
                failure = std::current_exception();
            }
            auto executor = net::get_associated_executor(handler);
            net::post(executor, [handler = std::move(handler), failure, outcome = std::move(outcome)]() mutable {
                std::move(handler)(failure, std::move(outcome));
            });
        });
    };
    Outcome outcome = co_await net::async_initiate<decltype(net::use_awaitable), void(std::exception_ptr, Outcome)>(
        std::move(initiate), net::use_awaitable);
    if constexpr (!std::is_void_v<R>) co_return std::move(*outcome);
}

// The completion handler of a spawned task: logs an escaped exception once, under `what`.
struct LogFailure {
    std::string what;
    void operator()(std::exception_ptr failure) const;
};

// The same under a literal's name: a pointer, so the frame of each spawned task (one per
// connection) keeps 8 bytes for it rather than a string.
struct LogFailureAs {
    char const* what;
    void operator()(std::exception_ptr failure) const;
};

inline LogFailure log_failure(std::string what) { return LogFailure{std::move(what)}; }

// Starts `task` on `executor`; an exception it lets escape is logged, never lost or rethrown.
inline void spawn(net::any_io_executor const& executor, Task<> task, std::string what) {
    net::co_spawn(executor, std::move(task), log_failure(std::move(what)));
}
// The same named by a literal, which lives as long as the program (any other text takes the
// std::string overload).
template <std::size_t N>
void spawn(net::any_io_executor const& executor, Task<> task, char const (&what)[N]) {
    net::co_spawn(executor, std::move(task), LogFailureAs{what});
}

}  // namespace onda
