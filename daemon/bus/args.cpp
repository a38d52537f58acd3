#include "bus/args.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "bus/server.hpp"

namespace sgnic::bus {

namespace {

Error bad_message(int r) {
    return {Errc::invalid_argument, std::string("malformed message: ") + strerror(-r)};
}

Error too_many(const char* what, std::size_t limit) {
    return {Errc::invalid_argument,
            std::string(what) + ": more than " + std::to_string(limit) + " entries"};
}

// LoadRules' "matchers" option (its variant entered): (matcher id, RX
// rules, TX rules) per matcher, each matcher once.
Expected<service::LoadJob::Incoming> read_incoming(sd_bus_message* m) {
    service::LoadJob::Incoming out;
    int r = sd_bus_message_enter_container(m, 'v', "a(ttt)");
    if (r < 0) {
        return bad_message(r);
    }
    r = sd_bus_message_enter_container(m, 'a', "(ttt)");
    if (r < 0) {
        return bad_message(r);
    }
    for (;;) {
        std::uint64_t matcher = 0;
        std::uint64_t rx = 0;
        std::uint64_t tx = 0;
        r = sd_bus_message_read(m, "(ttt)", &matcher, &rx, &tx);
        if (r < 0) {
            return bad_message(r);
        }
        if (r == 0) {
            break;
        }
        if (out.size() == kMaxLoadMatchers) {
            return too_many("option 'matchers'", kMaxLoadMatchers);
        }
        if (!out.emplace(matcher, std::pair{rx, tx}).second) {
            return Error(Errc::invalid_argument,
                         "option 'matchers' names matcher " + std::to_string(matcher) + " twice");
        }
    }
    r = sd_bus_message_exit_container(m);  // the array
    if (r >= 0) {
        r = sd_bus_message_exit_container(m);  // the variant
    }
    if (r < 0) {
        return bad_message(r);
    }
    return out;
}

// The counts must fit the file's: a rule is one matcher's, in one direction
// or both, so no count exceeds "rules" and neither does their sum over
// matchers (of each matcher's larger direction).
Expected<void> check_incoming(const service::LoadJob::Incoming& incoming,
                              const std::optional<std::uint64_t>& rules) {
    if (!rules) {
        return Error(Errc::invalid_argument,
                     "option 'matchers' needs option 'rules': the counts are the file's");
    }
    std::uint64_t sum = 0;
    for (const auto& [matcher, counts] : incoming) {
        const std::uint64_t most = std::max(counts.first, counts.second);
        if (most > *rules - sum) {  // sum <= *rules: checked before
            return Error(Errc::invalid_argument,
                         "option 'matchers': matcher " + std::to_string(matcher) + "'s " +
                             std::to_string(counts.first) + " RX and " +
                             std::to_string(counts.second) + " TX rules, with the matchers " +
                             "before it, are more than the " + std::to_string(*rules) +
                             " rules of option 'rules'");
        }
        sum += most;
    }
    return {};
}

}  // namespace

Expected<std::vector<proto::FieldText>> read_field_texts(sd_bus_message* m, const char* what,
                                                         std::size_t limit) {
    std::vector<proto::FieldText> out;
    int r = sd_bus_message_enter_container(m, 'a', "(ss)");
    if (r < 0) {
        return bad_message(r);
    }
    for (;;) {
        const char* field = nullptr;
        const char* text = nullptr;
        r = sd_bus_message_read(m, "(ss)", &field, &text);
        if (r < 0) {
            return bad_message(r);
        }
        if (r == 0) {
            break;
        }
        if (out.size() == limit) {
            return too_many(what, limit);
        }
        out.push_back({field, text});
    }
    r = sd_bus_message_exit_container(m);
    if (r < 0) {
        return bad_message(r);
    }
    return out;
}

Expected<std::vector<std::string>> read_strings(sd_bus_message* m, const char* what,
                                                std::size_t limit) {
    std::vector<std::string> out;
    int r = sd_bus_message_enter_container(m, 'a', "s");
    if (r < 0) {
        return bad_message(r);
    }
    for (;;) {
        const char* s = nullptr;
        r = sd_bus_message_read(m, "s", &s);
        if (r < 0) {
            return bad_message(r);
        }
        if (r == 0) {
            break;
        }
        if (out.size() == limit) {
            return too_many(what, limit);
        }
        out.emplace_back(s);
    }
    r = sd_bus_message_exit_container(m);
    if (r < 0) {
        return bad_message(r);
    }
    return out;
}

Expected<std::vector<service::RuleRequest>> read_rules(sd_bus_message* m) {
    std::vector<service::RuleRequest> out;
    int r = sd_bus_message_enter_container(m, 'a', "(osa(ss)as)");
    if (r < 0) {
        return bad_message(r);
    }
    for (;;) {
        r = sd_bus_message_enter_container(m, 'r', "osa(ss)as");
        if (r < 0) {
            return bad_message(r);
        }
        if (r == 0) {
            break;
        }
        if (out.size() == proto::kMaxRulesPerCall) {
            return too_many("rules", proto::kMaxRulesPerCall);
        }
        const std::string index = "rule #" + std::to_string(out.size());
        const char* path = nullptr;
        const char* dirs = nullptr;
        r = sd_bus_message_read(m, "os", &path, &dirs);
        if (r < 0) {
            return bad_message(r);
        }
        const auto matcher = matcher_from_path(path);
        if (!matcher) {
            return Error(Errc::no_such_matcher, index + ": '" + path +
                                                    "' is not a matcher object path (" +
                                                    kMatcherPrefix + "/<id>)");
        }
        auto match = read_field_texts(m, "match", kMaxFields);
        if (!match) {
            return match.error();
        }
        auto actions = read_strings(m, "actions", proto::kMaxActions + 1);
        if (!actions) {
            return actions.error();
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0) {
            return bad_message(r);
        }
        out.push_back({.matcher = *matcher,
                       .directions = dirs,
                       .match = std::move(*match),
                       .actions = std::move(*actions)});
    }
    r = sd_bus_message_exit_container(m);
    if (r < 0) {
        return bad_message(r);
    }
    return out;
}

Expected<std::vector<model::RuleKey>> read_rule_ids(sd_bus_message* m) {
    const void* data = nullptr;
    std::size_t size = 0;
    const int r = sd_bus_message_read_array(m, 't', &data, &size);
    if (r < 0) {
        return bad_message(r);
    }
    const std::size_t n = size / sizeof(std::uint64_t);
    if (n > proto::kMaxRulesPerCall) {
        return too_many("rule ids", proto::kMaxRulesPerCall);
    }
    std::vector<model::RuleKey> out(n);
    if (n > 0) {
        std::memcpy(out.data(), data, n * sizeof(std::uint64_t));
    }
    return out;
}

Expected<service::LoadJob::Options> read_load_options(sd_bus_message* m) {
    service::LoadJob::Options out;
    int r = sd_bus_message_enter_container(m, 'a', "{sv}");
    if (r < 0) {
        return bad_message(r);
    }
    while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        const char* key = nullptr;
        r = sd_bus_message_read(m, "s", &key);
        if (r < 0) {
            return bad_message(r);
        }
        const std::string_view k(key);
        const char* type = nullptr;
        r = sd_bus_message_peek_type(m, nullptr, &type);
        if (r < 0) {
            return bad_message(r);
        }
        const char* want = k == "rules"      ? "t"
                           : k == "chunk"    ? "u"
                           : k == "matchers" ? "a(ttt)"
                                             : nullptr;
        if (want == nullptr) {
            return Error(Errc::invalid_argument,
                         "option '" + std::string(k) +
                             R"(' is unknown: LoadRules takes "rules" (t), "chunk" (u) and )"
                             R"("matchers" (a(ttt)))");
        }
        if (std::string_view(type) != want) {
            return Error(Errc::invalid_argument, "option '" + std::string(k) +
                                                     "' must be of type " + want + ", not " + type);
        }
        if (k == "rules") {
            std::uint64_t rules = 0;
            r = sd_bus_message_read(m, "v", "t", &rules);
            out.expected = rules;
        } else if (k == "matchers") {
            auto incoming = read_incoming(m);  // reports a malformed message itself
            if (!incoming) {
                return incoming.error();
            }
            out.incoming = std::move(*incoming);
            r = 0;
        } else {
            std::uint32_t chunk = 0;
            r = sd_bus_message_read(m, "v", "u", &chunk);
            if (r >= 0 && (chunk == 0 || chunk > proto::kMaxRulesPerCall)) {
                return Error(Errc::invalid_argument,
                             "option 'chunk' is " + std::to_string(chunk) + ": 1 to " +
                                 std::to_string(proto::kMaxRulesPerCall) + " rules per batch");
            }
            out.chunk = chunk;
        }
        if (r < 0) {
            return bad_message(r);
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0) {
            return bad_message(r);
        }
    }
    if (r < 0) {
        return bad_message(r);
    }
    r = sd_bus_message_exit_container(m);
    if (r < 0) {
        return bad_message(r);
    }
    if (out.incoming) {
        if (auto fits = check_incoming(*out.incoming, out.expected); !fits) {
            return fits.error();
        }
    }
    return out;
}

char** to_strv(const std::vector<std::string>& items) {
    // NOLINTBEGIN(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory): sd-bus frees it
    auto** strv = static_cast<char**>(std::calloc(items.size() + 1, sizeof(char*)));
    if (strv == nullptr) {
        return nullptr;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        strv[i] = strdup(items[i].c_str());
        if (strv[i] == nullptr) {
            for (std::size_t j = 0; j < i; ++j) {
                std::free(strv[j]);
            }
            std::free(strv);
            return nullptr;
        }
    }
    return strv;
    // NOLINTEND(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
}

}  // namespace sgnic::bus
