// `onda-media worker` (`onda worker`): one transcode worker process (media/transcode_worker.hpp) on the server's data
// directory. Normally started by `onda serve` (app/worker_supervisor.hpp), with its standard output a
// pipe that carries the job reports (app/job_report.hpp); it never listens on the network.
//
// It exits when it is told to (SIGTERM or SIGINT: at once, even mid-job; the supervisor hands the job
// back uncounted), when its parent is gone (PR_SET_PDEATHSIG, and a check every second, since the
// signal fires only if the parent dies after the prctl), when its reports can no longer be written,
// and when a transcode stalls (exit code 75; the supervisor restarts it and the job is retried).
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>

#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/media/commands.hpp"
#include "app/job_report.hpp"
#include "core/log.hpp"
#include "media/av/transcode/ladder.hpp"
#include "media/transcode/ladder_config.hpp"
#include "media/transcode_worker.hpp"
#include "storage/local_blob_store.hpp"
#include "storage/sqlite_meta_store.hpp"

namespace onda::app {
namespace {

// Ends the process now, without unwinding: a transcode may still be running on another thread, and
// nothing it holds needs an orderly end (the database is in WAL mode, scratch files are removed at
// the next start).
[[noreturn]] void exit_now(int code) {
    spdlog::default_logger()->flush();
    std::_Exit(code);
}

// Writes one report to standard output; the whole line or, when the server is gone, the process ends.
void write_report(media::JobEvent const& event) {
    std::string const line = format_job_report(event);
    std::size_t written = 0;
    while (written < line.size()) {
        ssize_t const n = ::write(STDOUT_FILENO, line.data() + written, line.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            log::error("worker: the server no longer reads its reports ({}); exiting", std::strerror(errno));
            exit_now(1);
        }
        written += static_cast<std::size_t>(n);
    }
}

// A name usable as a lease owner and a directory: [A-Za-z0-9._-], 1 to 128 characters, not "." or "..".
bool is_valid_worker_id(std::string_view id) {
    if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
    for (char c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

std::string default_worker_id() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    std::string id;
    for (char const* c = host; *c; ++c) id += std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' ? *c : '_';
    return (id.empty() ? std::string("worker") : id) + "." + std::to_string(::getpid());
}

// Every second: whether the process that started us is still there.
Task<> watch_parent(pid_t parent) {
    net::steady_timer timer(co_await net::this_coro::executor);
    for (;;) {
        timer.expires_after(std::chrono::seconds(1));
        auto [ec] = co_await timer.async_wait(use_result);
        if (ec) co_return;
        if (::getppid() != parent) {
            log::warn("worker: the process that started it is gone; exiting");
            exit_now(1);
        }
    }
}

}  // namespace

int worker(WorkerOptions options) {
    Config const& config = options.config;
    log::init(*log::parse_level(config.log_level));
    pid_t const parent = ::getppid();
    // SIGKILL when the parent dies; checked again right after, in case it died before the prctl.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 1;
    std::signal(SIGPIPE, SIG_IGN);  // a closed report pipe is an EPIPE, handled in write_report
    std::signal(SIGXFSZ, SIG_IGN);

    std::string const id = options.id.empty() ? default_worker_id() : options.id;
    if (!is_valid_worker_id(id)) {
        log::error("worker: --id must be 1 to 128 of [A-Za-z0-9._-]");
        return 2;
    }
    auto const& data_dir = config.data_dir;
    net::thread_pool pool(2);
    auto meta = storage::SqliteMetaStore::open(data_dir / "onda.db", pool);
    if (!meta) {
        log::error("worker {}: open metadata: {}", id, meta.error().message());
        return 1;
    }
    auto blobs = storage::LocalBlobStore::open(data_dir / "blobs");
    if (!blobs) {
        log::error("worker {}: open blobs: {}", id, blobs.error().message());
        return 1;
    }

    auto ladder_options = media::ladder_options(config.transcode);
    if (!ladder_options) {
        log::error("worker {}: {}", id, ladder_options.error().message());
        return 1;
    }
    media::TranscodeFn transcode = [ladder = std::move(*ladder_options)](std::filesystem::path const& source,
                                                                         std::filesystem::path const& out_dir,
                                                                         media::LadderProgress const& progress) {
        return media::av::blocking::run_ladder(source, out_dir, ladder, progress);
    };
    SystemClock clock;
    media::TranscodeWorker transcode_worker(**meta, **blobs, pool, clock, std::move(transcode), write_report,
                                            media::TranscodeWorkerOptions{
                                                .owner = id,
                                                .scratch_dir = data_dir / "work" / id,
                                                .lease = config.transcode.lease,
                                                .stall_timeout = config.transcode.stall_timeout,
                                                .max_attempts = config.transcode.max_attempts,
                                            });

    net::io_context context;
    net::signal_set signals(context, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int signal) {
        if (ec) return;
        if (transcode_worker.busy()) {
            // The transcode cannot be interrupted; whoever stops us hands the job back.
            log::info("worker {}: signal {} during a job: exiting now", id, signal);
            exit_now(0);
        }
        log::info("worker {}: signal {}: stopping", id, signal);
        transcode_worker.stop();
    });
    spawn(context.get_executor(), watch_parent(parent), "watch parent");
    std::optional<Result<media::WorkerStop>> outcome;
    // When run() ends, so does the process's loop; the signal wait and the parent watch go with it.
    net::co_spawn(context, transcode_worker.run(),
                  [&outcome, &context](std::exception_ptr failure, Result<media::WorkerStop> result) {
                      outcome = std::move(result);
                      if (failure) {
                          try {
                              std::rethrow_exception(failure);
                          } catch (std::exception const& e) {
                              outcome = Error(Errc::internal, e.what());
                          } catch (...) {
                              outcome = Error(Errc::internal, "an unknown exception");
                          }
                      }
                      context.stop();
                  });
    log::info("worker {} waiting for jobs", id);
    context.run();
    if (!outcome) return 1;  // not reached: the context stops only after run() ended
    auto const& stopped = *outcome;
    if (!stopped) {
        log::error("worker {}: {}", id, stopped.error().message());
        return 1;
    }
    if (*stopped == media::WorkerStop::stalled) {
        log::error("worker {}: a transcode stalled; exiting so that it is retried in a new process", id);
        exit_now(stalled_exit_code);
    }
    log::info("worker {} stopped", id);
    return 0;
}

}  // namespace onda::app
