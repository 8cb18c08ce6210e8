#include "core/task.hpp"

#include "core/error.hpp"
#include "core/log.hpp"

#include <boost/system/system_error.hpp>

namespace onda {

namespace {

void log_failure_of(std::string_view what, std::exception_ptr failure) {
    if (!failure) return;
    try {
        std::rethrow_exception(failure);
    } catch (boost::system::system_error const& e) {
        // A peer that went away or a cancelled wait is how tasks normally end.
        if (e.code() == net::error::operation_aborted || e.code() == net::error::eof ||
            e.code() == net::error::connection_reset || e.code() == net::error::broken_pipe)
            return;
        log::warn("{} failed: {}", what, e.what());
    } catch (ErrorException const& e) {
        log::warn("{} failed: {} ({})", what, e.error().message(), code_name(e.error().code()));
    } catch (std::exception const& e) {
        log::error("{} failed: {}", what, e.what());
    } catch (...) {
        log::error("{} failed with an unknown exception", what);
    }
}

}  // namespace

void LogFailure::operator()(std::exception_ptr failure) const { log_failure_of(what, failure); }

void LogFailureAs::operator()(std::exception_ptr failure) const { log_failure_of(what, failure); }

}  // namespace onda
