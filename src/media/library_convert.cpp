// On-the-fly conversions of a media object's audio (`stream?format=F&bitrate=B`, API.md "Media
// library"). The plan is made here from the media row; an `onda-media convert` child process does all the
// decoding and encoding (DESIGN.md "Crash isolation for decoders": a file that crashes a decoder
// ends that response, never the server), and its standard output is the response body.
//   mp3, wav  the length is known before the run: Content-Length, Accept-Ranges: bytes, ETag and
//             Last-Modified, and a Range request starts a child at the asked byte (convert.hpp says
//             why the bytes match a full run's).
//   others    chunked, Accept-Ranges: none.
// HEAD answers the headers without starting a child. A child is killed as soon as its response
// ends, whether the client read it all or went away. A whole MP3 that a child finished is kept in
// the BlobStore and served from there with the same ETag (its bytes are the same by construction);
// deleting the media removes it with the rest.
#include <atomic>

#include <unistd.h>

#include <fmt/format.h>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "http/content_disposition.hpp"
#include "http/delivery.hpp"
#include "media/detail/delivery_policy.hpp"
#include "media/convert/mp3_layout.hpp"
#include "media/convert/plan.hpp"
#include "media/detail/child_process.hpp"
#include "media/library.hpp"
#include "storage/spool_file.hpp"

namespace onda::media {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t read_bytes = 64 * 1024;  // a pipe's capacity
// How long a child may take to exit after its last byte (a sanitizer build checks for leaks then).
constexpr std::chrono::milliseconds exit_wait{10'000};
// Part of a conversion's ETag: the bytes a plan makes are the same only under the same scheme.
// Change it with anything that changes them (block sizes, the Info frame, the resampling).
constexpr std::string_view conversion_scheme = "c1";

using detail::error;

std::string_view extension_of(ConvertFormat format) {
    return format == ConvertFormat::opus ? "opus" : format_name(format);
}

std::string file_stem(std::string_view filename) {
    auto dot = filename.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return std::string(filename);
    return std::string(filename.substr(0, dot));
}

int json_int(boost::json::value const& object, std::string_view key) {
    if (!object.is_object()) return 0;
    auto const* value = object.as_object().if_contains(key);
    if (!value) return 0;
    if (value->is_int64()) return static_cast<int>(value->as_int64());
    if (value->is_uint64()) return static_cast<int>(value->as_uint64());
    return 0;
}

// One place among the conversions running at once; given back when the response ends.
class ConversionSlot {
public:
    static std::optional<ConversionSlot> take(std::atomic<std::size_t>& live, std::size_t max) {
        std::size_t running = live.load(std::memory_order_relaxed);
        do {
            if (running >= max) return std::nullopt;
        } while (!live.compare_exchange_weak(running, running + 1, std::memory_order_acq_rel));
        return ConversionSlot(live);
    }
    ConversionSlot(ConversionSlot&& other) noexcept : live_(std::exchange(other.live_, nullptr)) {}
    ConversionSlot& operator=(ConversionSlot&&) = delete;
    ~ConversionSlot() {
        if (live_) live_->fetch_sub(1, std::memory_order_acq_rel);
    }

private:
    explicit ConversionSlot(std::atomic<std::size_t>& live) : live_(&live) {}
    std::atomic<std::size_t>* live_;
};

// Where a whole conversion is kept once it is finished. The store and the pool outlive the server.
struct Keeper {
    storage::BlobStore* blobs = nullptr;
    net::thread_pool* pool = nullptr;
    std::string key;
    storage::SpoolFile file;  // the bytes so far; removed unless it became the blob
};

// The body of a conversion: the child's output, `limit` bytes of it when the length is known.
class ConversionStream final : public http::BodyStream {
public:
    struct Settings {
        std::optional<std::uint64_t> limit;  // bytes to pass on; nullopt: until the child's output ends
        bool to_the_end = true;              // the limit reaches the end of the output: check the exit too
        std::chrono::milliseconds stall{30'000};
        std::string what;            // for the log: request, media and plan
        std::optional<Keeper> keep;  // the whole output, to keep once it is complete
    };

    ConversionStream(std::unique_ptr<detail::ChildProcess> child, ConversionSlot slot, Settings settings)
        : child_(std::move(child)), slot_(std::move(slot)), settings_(std::move(settings)) {}

    std::optional<std::uint64_t> length() const override { return settings_.limit; }

    Task<Result<std::optional<std::string>>> next() override {
        if (finished_) co_return std::nullopt;
        std::size_t wanted = read_bytes;
        if (settings_.limit && settings_.to_the_end)
            wanted = static_cast<std::size_t>(std::min<std::uint64_t>(read_bytes, *settings_.limit - sent_ + 1));
        else if (settings_.limit)
            wanted = static_cast<std::size_t>(std::min<std::uint64_t>(read_bytes, *settings_.limit - sent_));
        auto chunk = co_await child_->read_some(wanted, settings_.stall);
        if (!chunk) co_return failed(chunk.error());
        if (!chunk->empty()) {
            // Keeping is a bonus: a spool that cannot take the bytes just keeps nothing.
            if (settings_.keep && !settings_.keep->file.write(*chunk)) settings_.keep.reset();
            sent_ += chunk->size();
            if (settings_.limit && sent_ > *settings_.limit)
                co_return failed(Error(Errc::internal, fmt::format("made more than {} bytes", *settings_.limit)));
            // A range that ends before the output does is complete: the child is killed with the stream.
            if (settings_.limit && !settings_.to_the_end && sent_ == *settings_.limit) finished_ = true;
            co_return std::move(*chunk);
        }
        auto exited = co_await child_->wait(exit_wait);
        if (!exited) co_return failed(exited.error());
        if (settings_.limit && sent_ != *settings_.limit)
            co_return failed(Error(Errc::internal, fmt::format("ended after {} of {} bytes", sent_, *settings_.limit)));
        finished_ = true;
        if (settings_.keep) {
            Task<> keeping = keep(std::move(*settings_.keep));  // named: GCC 12 and co_await temporaries
            settings_.keep.reset();
            co_await std::move(keeping);
        }
        co_return std::nullopt;
    }

private:
    // The client has every byte already; this only delays the end of the exchange by a rename.
    Task<> keep(Keeper keeper) {
        auto* blobs = keeper.blobs;
        auto key = keeper.key;
        auto path = keeper.file.path();
        auto put = [blobs, key, path] { return blobs->put_file(key, path); };  // named: GCC 12 and co_await
        auto kept = co_await offload(*keeper.pool, put);
        if (kept)
            keeper.file.release();  // it is the blob now
        else
            log::warn("{}: could not keep the conversion: {}", settings_.what, kept.error().message());
    }

    Error failed(Error const& error) {
        finished_ = true;
        log::warn("{} conversion failed after {} bytes: {}", settings_.what, sent_, error.message());
        return error.context("conversion");
    }

    std::unique_ptr<detail::ChildProcess> child_;
    ConversionSlot slot_;
    Settings settings_;
    std::uint64_t sent_ = 0;
    bool finished_ = false;
};

// The body of a HEAD answer of a streamed conversion: the headers say chunked, and nothing follows.
class NoBody final : public http::BodyStream {
public:
    Task<Result<std::optional<std::string>>> next() override { co_return std::nullopt; }
};

}  // namespace

Library::~Library() = default;

void Library::start_spare_converter() {
    if (options_.converter.empty()) return;
    spare_converter_ = std::make_unique<detail::SpareChild>(options_.converter);
    spare_converter_->refill();
}

Result<std::unique_ptr<detail::ChildProcess>> Library::start_converter(net::any_io_executor executor,
                                                                       ConversionPlan const& plan, std::uint64_t first,
                                                                       int source_fd, std::string const& what) {
    std::unique_ptr<detail::ChildProcess> child;
    if (auto waiting = spare_converter_ ? spare_converter_->take() : nullptr) {
        auto handed = waiting->hand_over(encode_job(plan, first), source_fd);
        if (handed)
            child = detail::ChildProcess::adopt(executor, *handed);
        else
            log::warn("{}: {}", what, handed.error().message());
    }
    if (!child) {
        std::vector<std::string> argv = options_.converter;
        for (auto& argument : convert_arguments(plan, first)) argv.push_back(std::move(argument));
        argv.insert(argv.end(), {"--parent-pid", std::to_string(::getpid()), "/dev/stdin"});
        auto spawned = detail::ChildProcess::spawn(executor, argv, source_fd);
        if (!spawned) return spawned.error().context("start a conversion");
        child = std::move(*spawned);
    }
    log::debug("{} from byte {}: child {}", what, first, child->pid());
    if (spare_converter_) spare_converter_->refill();  // for the next conversion, while this one runs
    return child;
}

Task<Result<Library::Mp3Stream>> Library::open_mp3(auth::Identity who, std::string id, std::int64_t bit_rate,
                                                   std::int64_t first_frame) {
    if (!is_valid_id(id, "m")) co_return Error(Errc::not_found, "no such media");
    auto media = co_await open_media(std::move(id), caches_.size());  // no thread's cache: any thread may ask
    if (!media) co_return media.error();
    auto const& record = (*media)->record;
    if (auto allowed = check_owner_read(who, record); !allowed) co_return allowed.error();
    ConvertSource const source{.duration = record.duration,
                               .sample_rate = json_int(record.audio, "sample_rate"),
                               .channels = json_int(record.audio, "channels")};
    auto plan = plan_conversion(ConvertFormat::mp3, bit_rate, source);
    if (!plan) co_return plan.error();
    if (options_.converter.empty()) co_return Error(Errc::unavailable, "this server does not convert media");
    int const source_fd = (*media)->reader->native_handle();
    if (source_fd < 0) co_return Error(Errc::internal, "this store cannot serve bytes directly");
    Mp3Layout const layout{.sample_rate = plan->sample_rate,
                           .bit_rate = plan->bit_rate,
                           .channels = plan->channels,
                           .samples = plan->samples};
    std::uint64_t const length = layout.length();
    if (first_frame < 0 || first_frame > layout.audio_frames())
        co_return Error(Errc::out_of_range,
                        fmt::format("no frame {}: the conversion has {}", first_frame, layout.audio_frames() + 1));
    std::uint64_t const first_byte = static_cast<std::uint64_t>(first_frame) * layout.frame_bytes();
    auto slot = ConversionSlot::take(live_conversions_, options_.max_live_conversions);
    if (!slot) co_return Error(Errc::resource_exhausted, "too many conversions are running; try again shortly");
    auto const executor = co_await net::this_coro::executor;
    std::string const what = fmt::format("media={} {} (socket.io)", record.id, plan->name());
    auto child = start_converter(executor, *plan, first_byte, source_fd, what);
    if (!child) co_return child.error();
    ConversionStream::Settings settings{
        .limit = length - first_byte, .to_the_end = true, .stall = options_.conversion_stall_timeout, .what = what};
    co_return Mp3Stream{
        .frame_bytes = layout.frame_bytes(),
        .sample_rate = layout.sample_rate,
        .audio_frames = layout.audio_frames(),
        .duration = record.duration,
        .bytes = std::make_unique<ConversionStream>(std::move(*child), std::move(*slot), std::move(settings))};
}

Task<Response> Library::deliver_conversion(Request& request, std::shared_ptr<OpenMedia const> media,
                                           std::string format_text, bool as_attachment) {
    auto const& record = media->record;
    auto format = parse_convert_format(format_text);
    if (!format) co_return http::error_response(format.error());
    std::optional<std::int64_t> bit_rate;
    if (auto text = request.query("bitrate"); text && !text->empty()) {
        auto parsed = parse_bit_rate(*text);
        if (!parsed) co_return http::error_response(parsed.error());
        bit_rate = *parsed;
    }
    ConvertSource const source{.duration = record.duration,
                               .sample_rate = json_int(record.audio, "sample_rate"),
                               .channels = json_int(record.audio, "channels")};
    auto plan = plan_conversion(*format, bit_rate, source);
    if (!plan) co_return http::error_response(plan.error());
    if (options_.converter.empty()) co_return error(Errc::unavailable, "this server does not convert media");
    int const source_fd = media->reader->native_handle();
    if (source_fd < 0) co_return error(Errc::internal, "this store cannot serve bytes directly");

    std::string const cache_control(detail::cache_control_for(record.visibility));
    std::string disposition;
    if (as_attachment || request.query("disposition") == "attachment")
        disposition = http::content_disposition(
            "attachment", file_stem(record.filename) + "." + std::string(extension_of(plan->format)));
    http::Validators const validators{
        .etag = fmt::format("\"{}-{}-{}\"", record.sha256.substr(0, 32), plan->name(), conversion_scheme),
        .last_modified = std::chrono::time_point_cast<std::chrono::seconds>(record.created_at)};

    bool const keepable = plan->format == ConvertFormat::mp3 && !options_.conversion_spool.empty();
    std::string const kept_key = "media/" + record.id + "/live/" + plan->name() + ".mp3";
    if (keepable) {
        auto open_kept = [this, kept_key] { return blobs_.open(kept_key); };  // named: GCC 12 and co_await
        auto kept = co_await offload(pool_, open_kept);
        if (kept && (*kept)->native_handle() >= 0 && (*kept)->size() == plan->length()) {
            std::shared_ptr<storage::BlobReader const> reader = std::move(*kept);
            http::Representation stored{.fd = reader->native_handle(),
                                        .size = reader->size(),
                                        .owner = reader,
                                        .content_type = plan->content_type(),
                                        .validators = validators,
                                        .cache_control = cache_control,
                                        .content_disposition = disposition};
            co_return http::deliver(request, std::move(stored));
        }
    }

    // HEAD starts nothing, so it takes no place.
    std::optional<ConversionSlot> slot = request.is_head()
                                             ? std::optional<ConversionSlot>()
                                             : ConversionSlot::take(live_conversions_, options_.max_live_conversions);
    if (!request.is_head()) {
        if (!slot) {
            auto busy = error(Errc::resource_exhausted, "too many conversions are running; try again shortly");
            busy.add_header("Retry-After", "1");
            co_return busy;
        }
    }
    auto const executor = co_await net::this_coro::executor;
    std::string const what = fmt::format("req={} media={} {}", request.id(), record.id, plan->name());
    // Called once, synchronously, by this function or by http::deliver below (so the references hold).
    auto start = [&](std::uint64_t first, std::optional<std::uint64_t> limit,
                     bool to_the_end) -> Result<std::unique_ptr<http::BodyStream>> {
        auto child = start_converter(executor, *plan, first, source_fd, what);
        if (!child) return child.error();
        ConversionStream::Settings settings{
            .limit = limit, .to_the_end = to_the_end, .stall = options_.conversion_stall_timeout, .what = what};
        if (keepable && first == 0 && to_the_end)
            if (auto spool = storage::SpoolFile::create(options_.conversion_spool))
                settings.keep = Keeper{.blobs = &blobs_, .pool = &pool_, .key = kept_key, .file = std::move(*spool)};
        return std::make_unique<ConversionStream>(std::move(*child), std::move(*slot), std::move(settings));
    };

    if (auto const length = plan->length()) {
        http::GeneratedRepresentation representation{
            .size = *length,
            .content_type = plan->content_type(),
            .validators = validators,
            .cache_control = cache_control,
            .content_disposition = disposition,
            .open = [&](std::uint64_t first,
                        std::uint64_t bytes) { return start(first, bytes, first + bytes == *length); },
        };
        co_return http::deliver(request, representation);
    }

    Response response(200);
    response.add_header("Content-Type", plan->content_type());
    // Nothing to seek in before the bytes exist (API.md): ranges are not offered.
    response.add_header("Accept-Ranges", "none");
    response.add_header("Cache-Control", cache_control);
    if (!disposition.empty()) response.add_header("Content-Disposition", disposition);
    if (request.is_head()) {
        response.set_stream(std::make_unique<NoBody>());
        co_return response;
    }
    auto body = start(0, std::nullopt, true);
    if (!body) co_return http::error_response(body.error());
    response.set_stream(std::move(*body));
    co_return response;
}

}  // namespace onda::media
