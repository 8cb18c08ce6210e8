// Runs a coroutine to completion on a private io_context and returns its result (or rethrows what it threw),
// so a test can call MetaStore methods as plain functions.
//
// Example:
//   auto found = run_task(store.find_media(id));
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "core/task.hpp"

namespace onda::test {

template <class T>
T run_task(Task<T> task) {
    boost::asio::io_context context;
    auto result = boost::asio::co_spawn(context, std::move(task), boost::asio::use_future);
    context.run();  // co_spawn keeps the context busy until the task ends, pool hops included
    return result.get();
}

}  // namespace onda::test
