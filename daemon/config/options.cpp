#include "config/options.hpp"

#include <string_view>

namespace sgnic::config {

std::string usage() {
    return "Usage: sgnicd [OPTIONS]\n"
           "The sgnic steering policy daemon (D-Bus org.sgnic.Steering1).\n\n"
           "  --config FILE         configuration (default /etc/sgnic/sgnicd.json)\n"
           "  --check-config FILE   validate FILE, print the verdict, exit 0 or 1\n"
           "  --state-dir DIR       where the desired state is kept (default /var/lib/sgnic)\n"
           "  --bus system|session  which bus to serve on (default system)\n"
           "  --bus-address ADDR    serve on this bus address instead\n"
           "  --version             print the version\n"
           "  --help                print this help\n";
}

Expected<Options> parse_options(std::span<const char* const> args) {
    Options o;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string_view a = args[i];
        auto value = [&]() -> Expected<std::string> {
            if (i + 1 >= args.size()) {
                return Error(Errc::invalid_argument, std::string(a) + " needs a value");
            }
            return std::string(args[++i]);
        };
        if (a == "--help" || a == "-h") {
            o.mode = Options::Mode::help;
        } else if (a == "--version") {
            o.mode = Options::Mode::version;
        } else if (a == "--config" || a == "--check-config") {
            auto v = value();
            if (!v) {
                return v.error();
            }
            o.config_path = *v;
            if (a == "--check-config") {
                o.mode = Options::Mode::check_config;
            }
        } else if (a == "--state-dir") {
            auto v = value();
            if (!v) {
                return v.error();
            }
            o.state_dir = *v;
        } else if (a == "--bus") {
            auto v = value();
            if (!v) {
                return v.error();
            }
            if (*v == "system") {
                o.bus = BusKind::system;
            } else if (*v == "session") {
                o.bus = BusKind::session;
            } else {
                return Error(Errc::invalid_argument,
                             "--bus: '" + *v + "' is not one of system, session");
            }
        } else if (a == "--bus-address") {
            auto v = value();
            if (!v) {
                return v.error();
            }
            o.bus_address = *v;
        } else {
            return Error(Errc::invalid_argument,
                         "unknown option '" + std::string(a) + "' (see --help)");
        }
    }
    return o;
}

}  // namespace sgnic::config
