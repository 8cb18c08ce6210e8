// An io_context run by its own thread, like one server thread: subscribers live and wait there while
// the test (and its publishers) run elsewhere.
//
// Example:
//   IoThread io;
//   auto subscriber = io.call([&] { return hub.subscribe(io.executor(), {"chat:a"}); });
//   auto batch = io.run(subscriber->next(deadline));
#pragma once

#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include "core/task.hpp"

namespace onda::test {

class IoThread {
public:
    IoThread() : work_(net::make_work_guard(context_)), thread_([this] { context_.run(); }) {}
    ~IoThread() {
        work_.reset();
        thread_.join();
    }
    IoThread(IoThread const&) = delete;
    IoThread& operator=(IoThread const&) = delete;

    net::any_io_executor executor() { return context_.get_executor(); }

    // Runs fn() on the thread and returns its result.
    template <class Fn>
    auto call(Fn fn) {
        std::packaged_task<decltype(fn())()> job(std::move(fn));
        auto result = job.get_future();
        net::post(context_, [&job] { job(); });
        return result.get();
    }

    // Starts `task` on the thread; the future holds its result.
    template <class T>
    std::future<T> start(Task<T> task) {
        return net::co_spawn(context_, std::move(task), net::use_future);
    }

    // Runs `task` on the thread to completion.
    template <class T>
    T run(Task<T> task) {
        return start(std::move(task)).get();
    }

private:
    net::io_context context_{1};
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::thread thread_;
};

}  // namespace onda::test
