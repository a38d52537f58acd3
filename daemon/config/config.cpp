#include "config/config.hpp"

#include <array>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

namespace sgnic::config {

using nlohmann::json;

namespace {

Error bad(const std::string& path, const std::string& what) {
    return {Errc::invalid_argument, path + ": " + what};
}

std::string type_name(const json& v) {
    if (v.is_number_integer()) {
        return "an integer";
    }
    if (v.is_number()) {
        return "a number";
    }
    return std::string("a ") + v.type_name();
}

// One key of an object: its name and how to read it into the config.
struct Key {
    std::string_view name;
    std::function<Status(const json&, const std::string&, Config&)> read;
};

Status read_int(const json& v, const std::string& path, int min, int max, int& out) {
    if (!v.is_number_integer()) {
        return bad(path, "expected an integer, got " + type_name(v));
    }
    const auto n = v.get<long long>();
    if (n < min || n > max) {
        return bad(path, std::to_string(n) + " is out of range [" + std::to_string(min) + ", " +
                             std::to_string(max) + "]");
    }
    out = static_cast<int>(n);
    return {};
}

Status read_object(const json& v, const std::string& path, std::span<const Key> keys, Config& c) {
    if (!v.is_object()) {
        return bad(path.empty() ? "(top level)" : path, "expected an object, got " + type_name(v));
    }
    for (const auto& [name, value] : v.items()) {
        std::string where = path;
        if (!where.empty()) {
            where += ".";
        }
        where += name;
        const Key* key = nullptr;
        std::string known;
        for (const Key& k : keys) {
            if (!known.empty()) {
                known += ", ";
            }
            known += k.name;
            if (k.name == name) {
                key = &k;
            }
        }
        if (key == nullptr) {
            return bad(where, "unknown key (known here: " + known + ")");
        }
        auto st = key->read(value, where, c);
        if (!st) {
            return st;
        }
    }
    return {};
}

constexpr int kMaxSizeLog = 31;
constexpr int kMaxTemplates = 1 << 16;
constexpr int kPercent = 100;
constexpr int kMaxResizeStep = 1 << 20;

Key int_key(std::string_view name, int min, int max, int policy::PolicyConfig::*field) {
    return {name, [min, max, field](const json& v, const std::string& path, Config& c) {
                return read_int(v, path, min, max, c.policy.*field);
            }};
}

Status read_policy(const json& v, const std::string& path, Config& c) {
    using P = policy::PolicyConfig;
    const std::array keys = {
        int_key("init-size-log", 0, kMaxSizeLog, &P::init_size_log),
        int_key("size-log-step", 1, kMaxSizeLog, &P::size_log_step),
        int_key("rehash-percent-threshold", 1, kPercent, &P::rehash_percent_threshold),
        int_key("assured-main-table-depth", 0, kMaxSizeLog, &P::assured_main_table_depth),
        int_key("action-templates-initial", 1, kMaxTemplates, &P::action_templates_initial),
        int_key("action-templates-max", 1, kMaxTemplates, &P::action_templates_max),
        int_key("resize-step-rules", 0, kMaxResizeStep, &P::resize_step_rules),
    };
    auto st = read_object(v, path, keys, c);
    if (st && c.policy.action_templates_initial > c.policy.action_templates_max) {
        return bad(path + ".action-templates-initial",
                   std::to_string(c.policy.action_templates_initial) +
                       " exceeds action-templates-max " +
                       std::to_string(c.policy.action_templates_max));
    }
    return st;
}

Status read_log_level(const json& v, const std::string& path, Config& c) {
    if (!v.is_string()) {
        return bad(path, "expected a string, got " + type_name(v));
    }
    const auto s = v.get<std::string>();
    for (const LogLevel l :
         {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error}) {
        if (to_string(l) == s) {
            c.log_level = l;
            return {};
        }
    }
    return bad(path, "'" + s + "' is not one of trace, debug, info, warning, error");
}

Status read_state_dir(const json& v, const std::string& path, Config& c) {
    if (!v.is_string()) {
        return bad(path, "expected a string, got " + type_name(v));
    }
    std::filesystem::path p(v.get<std::string>());
    if (!p.is_absolute()) {
        return bad(path, "'" + p.string() + "' is not an absolute path");
    }
    c.state_dir = std::move(p);
    return {};
}

Status read_persistence(const json& v, const std::string& path, Config& c) {
    if (!v.is_boolean()) {
        return bad(path, "expected true or false, got " + type_name(v));
    }
    c.persistence = v.get<bool>();
    return {};
}

Status read_manage_foreign(const json& v, const std::string& path, Config& c) {
    if (!v.is_boolean()) {
        return bad(path, "expected true or false, got " + type_name(v));
    }
    c.manage_foreign = v.get<bool>();
    return {};
}

}  // namespace

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::trace:
            return "trace";
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
    }
    return "info";
}

Expected<Config> parse_config(std::string_view json_text) {
    json doc;
    try {
        doc = json::parse(json_text);
    } catch (const json::parse_error& e) {
        return Error(Errc::invalid_argument,
                     "not valid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
    }
    const std::array keys = {
        Key{"log-level", read_log_level},     Key{"state-directory", read_state_dir},
        Key{"persistence", read_persistence}, Key{"manage-foreign", read_manage_foreign},
        Key{"policy", read_policy},
    };
    Config c;
    auto st = read_object(doc, "", keys, c);
    if (!st) {
        return st.error();
    }
    return c;
}

Expected<Config> load_config(const std::filesystem::path& path, bool must_exist) {
    std::error_code ec;
    if (!must_exist && !std::filesystem::exists(path, ec)) {
        return Config{};
    }
    std::ifstream in(path);
    if (!in) {
        return Error(Errc::not_found, path.string() + ": cannot be read");
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto c = parse_config(text.str());
    if (!c) {
        return c.error().with_context(path.string());
    }
    return c;
}

}  // namespace sgnic::config
