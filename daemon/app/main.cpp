// sgnicd: the sgnic steering policy daemon.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <span>

#include "adapter/netlink_kernel.hpp"
#include "app/daemon.hpp"
#include "config/config.hpp"
#include "config/options.hpp"
#include "log/log.hpp"
#include "sgnic/proto/version.hpp"

namespace {

int run(int argc, char** argv) {
    using namespace sgnic;
    auto options = config::parse_options(std::span<const char* const>(argv, argc));
    if (!options) {
        std::fprintf(stderr, "sgnicd: %s\n", options.error().message().c_str());
        return 2;
    }
    switch (options->mode) {
        case config::Options::Mode::help:
            std::fputs(config::usage().c_str(), stdout);
            return 0;
        case config::Options::Mode::version:
            std::printf("sgnicd %s\n", proto::kVersion);
            return 0;
        case config::Options::Mode::check_config: {
            auto c = config::load_config(options->config_path, true);
            if (!c) {
                std::fprintf(stderr, "%s\n", c.error().message().c_str());
                return 1;
            }
            std::printf("%s: valid\n", options->config_path.c_str());
            return 0;
        }
        case config::Options::Mode::run:
            break;
    }
    const bool named = !options->config_path.empty();
    auto c = config::load_config(
        named ? options->config_path : std::string(config::kDefaultConfigPath), named);
    if (!c) {
        std::fprintf(stderr, "sgnicd: %s\n", c.error().message().c_str());
        return 1;
    }
    log::setup(c->log_level);

    adapter::NetlinkKernel kernel;
    return app::run_daemon(*options, *c,
                           {.device = kernel,
                            .ports = kernel,
                            .state = kernel,
                            .watch = &kernel,
                            .deferred = &kernel});
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sgnicd: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "sgnicd: unexpected exception\n");
    }
    return 1;
}
