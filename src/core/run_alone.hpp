// Runs a coroutine to its end on a private io_context and returns its result (or rethrows what it
// threw), for the places that must wait for one: start-up and shutdown steps of `onda serve`, the
// worker process, and tests calling coroutine APIs as plain functions. Never call it from a thread
// that runs an io_context: it blocks.
//
// Example:
//   auto recovered = run_alone(library.recover());
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "core/task.hpp"

namespace onda {

template <class T>
T run_alone(Task<T> task) {
    net::io_context context;
    auto result = net::co_spawn(context, std::move(task), net::use_future);
    context.run();  // co_spawn keeps the context busy until the task ends, pool hops included
    return result.get();
}

}  // namespace onda
