#include "store/store.hpp"

#include "sgnic/proto/load.hpp"

#include <nlohmann/json.hpp>
#include <system_error>

namespace sgnic::store {

using nlohmann::json;

namespace {

constexpr std::string_view kFileName = "state.db";

constexpr int kDirRx = 1;  // SGNIC_DIRECTION_RX
constexpr int kDirTx = 2;  // SGNIC_DIRECTION_TX

// Rows hold plain text, not JSON: a rule's match and actions in the form of
// a LoadRules record's columns (sgnic/proto/load.hpp), which refuses a text
// holding a separator rather than store a row that reads back differently.
Expected<std::string> encode_fields(const std::vector<proto::FieldText>& fields) {
    std::string out;
    if (auto st = proto::load::append_match_column(out, fields); !st) {
        return st.error();
    }
    return out;
}

Expected<std::string> encode_actions(const std::vector<std::string>& actions) {
    std::string out;
    if (auto st = proto::load::append_actions_column(out, actions); !st) {
        return st.error();
    }
    return out;
}

// Into `out`, reused from row to row: a load of a million rows makes no
// list per row.
Status decode_fields(std::string_view text, std::vector<proto::FieldText>& out) {
    if (auto st = proto::load::parse_match_column(text, out); !st) {
        return Error(Errc::device,
                     "corrupt field list '" + std::string(text) + "': " + st.error().message());
    }
    return {};
}

Expected<std::vector<proto::FieldText>> decode_fields(std::string_view text) {
    std::vector<proto::FieldText> out;
    if (auto st = decode_fields(text, out); !st) {
        return st.error();
    }
    return out;
}

Status decode_actions(std::string_view text, std::vector<std::string>& out) {
    if (auto st = proto::load::parse_actions_column(text, out); !st) {
        return Error(Errc::device,
                     "corrupt action list '" + std::string(text) + "': " + st.error().message());
    }
    return {};
}

// Schema 1 stored both lists as JSON; only its migration reads them.
Expected<std::vector<proto::FieldText>> decode_fields_v1(const std::string& text) {
    std::vector<proto::FieldText> out;
    try {
        for (const auto& f : json::parse(text)) {
            out.push_back({f.at(0).get<std::string>(), f.at(1).get<std::string>()});
        }
    } catch (const json::exception& e) {
        return Error(Errc::device, "corrupt field list '" + text + "': " + e.what());
    }
    return out;
}

Expected<std::vector<std::string>> decode_actions_v1(const std::string& text) {
    try {
        return json::parse(text).get<std::vector<std::string>>();
    } catch (const json::exception& e) {
        return Error(Errc::device, "corrupt action list '" + text + "': " + e.what());
    }
}

int encode_dirs(policy::Directions d) { return (d.rx ? kDirRx : 0) | (d.tx ? kDirTx : 0); }

policy::Directions decode_dirs(std::int64_t v) {
    return {.rx = (v & kDirRx) != 0, .tx = (v & kDirTx) != 0};
}

auto as_i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

}  // namespace

Expected<Store> Store::open(const std::filesystem::path& state_dir) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) {
        return Error(Errc::device, "create " + state_dir.string() + ": " + ec.message());
    }
    auto db = Database::open(state_dir / kFileName);
    if (!db) {
        return db.error();
    }
    Store store(std::move(*db));
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=1000"}) {
        auto st = store.db_.exec(pragma);
        if (!st) {
            return st.error().with_context(state_dir.string());
        }
    }
    auto st = store.migrate();
    if (!st) {
        return st.error().with_context(state_dir.string());
    }
    return store;
}

Status Store::migrate() {
    auto q = db_.prepare("PRAGMA user_version");
    if (!q) {
        return q.error();
    }
    auto row = q->step();
    if (!row) {
        return row.error();
    }
    const std::int64_t version = q->int64(0);
    if (version == kSchemaVersion) {
        return {};
    }
    if (version > kSchemaVersion) {
        return Error(Errc::invalid_argument,
                     "the state database has schema " + std::to_string(version) +
                         ", newer than this sgnicd's " + std::to_string(kSchemaVersion));
    }
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    // Version 0: the tables; version 1 had them with the lists as JSON.
    auto st = version == 0
                  ? db_.exec(
                        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                        "CREATE TABLE matchers (id INTEGER PRIMARY KEY, port TEXT NOT NULL,"
                        "  priority INTEGER NOT NULL, template TEXT NOT NULL);"
                        "CREATE TABLE rules (id INTEGER PRIMARY KEY,"
                        "  matcher INTEGER NOT NULL REFERENCES matchers(id),"
                        "  directions INTEGER NOT NULL, match TEXT NOT NULL, actions TEXT NOT NULL,"
                        "  uid INTEGER NOT NULL);"
                        "CREATE INDEX rules_by_matcher ON rules(matcher);")
                  : convert_v1_lists();
    if (!st) {
        return st.error().with_context("schema " + std::to_string(version) + " -> " +
                                       std::to_string(kSchemaVersion));
    }
    st = db_.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
    if (!st) {
        return st;
    }
    return tx->commit();
}

// Schema 1 -> 2: the same tables, each list rewritten from JSON to text.
// Rows are read first, then updated: no table changes under its own SELECT.
Status Store::convert_v1_lists() {
    struct Row {
        std::int64_t id;
        std::string a;
        std::string b;
    };
    auto read = [&](const char* sql, bool two) -> Expected<std::vector<Row>> {
        auto q = db_.prepare(sql);
        if (!q) {
            return q.error();
        }
        std::vector<Row> rows;
        for (;;) {
            auto row = q->step();
            if (!row) {
                return row.error();
            }
            if (!*row) {
                return rows;
            }
            rows.push_back({q->int64(0), q->text(1), two ? q->text(2) : std::string()});
        }
    };
    auto matchers = read("SELECT id, template FROM matchers", false);
    if (!matchers) {
        return matchers.error();
    }
    auto update_matcher = db_.prepare("UPDATE matchers SET template = ?2 WHERE id = ?1");
    if (!update_matcher) {
        return update_matcher.error();
    }
    for (const Row& r : *matchers) {
        auto fields = decode_fields_v1(r.a);
        auto text = fields ? encode_fields(*fields) : Expected<std::string>(fields.error());
        if (!text) {
            return text.error().with_context("matcher " + std::to_string(r.id));
        }
        if (auto st = update_matcher->bind(1, r.id).bind(2, *text).run(); !st) {
            return st;
        }
    }
    auto rules = read("SELECT id, match, actions FROM rules", true);
    if (!rules) {
        return rules.error();
    }
    auto update_rule = db_.prepare("UPDATE rules SET match = ?2, actions = ?3 WHERE id = ?1");
    if (!update_rule) {
        return update_rule.error();
    }
    for (const Row& r : *rules) {
        auto match = decode_fields_v1(r.a);
        auto match_text = match ? encode_fields(*match) : Expected<std::string>(match.error());
        auto actions = decode_actions_v1(r.b);
        auto actions_text =
            actions ? encode_actions(*actions) : Expected<std::string>(actions.error());
        if (!match_text || !actions_text) {
            return (match_text ? actions_text.error() : match_text.error())
                .with_context("rule " + std::to_string(r.id));
        }
        if (auto st = update_rule->bind(1, r.id).bind(2, *match_text).bind(3, *actions_text).run();
            !st) {
            return st;
        }
    }
    return {};
}

Status Store::set_meta(std::string_view key, std::uint64_t value) {
    auto q = db_.prepare(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) "
        "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)");
    if (!q) {
        return q.error();
    }
    return q->bind(1, key).bind(2, as_i64(value)).run();
}

Expected<model::DesiredState> Store::load() {
    model::DesiredState state;
    auto meta = db_.prepare("SELECT key, value FROM meta");
    if (!meta) {
        return meta.error();
    }
    for (auto row = meta->step(); row && *row; row = meta->step()) {
        const auto value = static_cast<std::uint64_t>(meta->int64(1));
        if (meta->text(0) == "next_matcher") {
            state.next_matcher = value;
        } else if (meta->text(0) == "next_rule") {
            state.next_rule = value;
        }
    }
    // Each rule's texts are parsed once, here, under its matcher's template.
    std::map<model::MatcherKey, proto::MatchTemplate> templates;
    auto ms = db_.prepare("SELECT id, port, priority, template FROM matchers");
    if (!ms) {
        return ms.error();
    }
    for (;;) {
        auto row = ms->step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            break;
        }
        auto fields = decode_fields(ms->text(3));
        if (!fields) {
            return fields.error();
        }
        model::DesiredMatcher m{.id = static_cast<model::MatcherKey>(ms->int64(0)),
                                .port = ms->text(1),
                                .priority = static_cast<std::uint32_t>(ms->int64(2)),
                                .fields = std::move(*fields)};
        auto tmpl = proto::parse_template(m.fields);
        if (!tmpl) {
            return Error(Errc::device, "matcher " + std::to_string(m.id) +
                                           ": corrupt template: " + tmpl.error().message());
        }
        templates.emplace(m.id, std::move(tmpl->match));
        state.next_matcher = std::max(state.next_matcher, m.id + 1);
        state.matchers.emplace(m.id, std::move(m));
    }
    auto count = db_.prepare("SELECT count(*) FROM rules");
    if (!count) {
        return count.error();
    }
    if (auto row = count->step(); row && *row) {
        state.rules.reserve(static_cast<std::size_t>(count->int64(0)));
    }
    // In id order: each row is an append to the rule table.
    auto rs =
        db_.prepare("SELECT id, matcher, directions, match, actions, uid FROM rules ORDER BY id");
    if (!rs) {
        return rs.error();
    }
    std::vector<proto::FieldText> match;
    std::vector<std::string> actions;
    for (;;) {
        auto row = rs->step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            break;
        }
        if (auto st = decode_fields(rs->text_view(3), match); !st) {
            return st.error();
        }
        if (auto st = decode_actions(rs->text_view(4), actions); !st) {
            return st.error();
        }
        const auto id = static_cast<model::RuleKey>(rs->int64(0));
        const auto matcher = static_cast<model::MatcherKey>(rs->int64(1));
        const auto tmpl = templates.find(matcher);
        if (tmpl == templates.end()) {
            return Error(Errc::device,
                         "rule " + std::to_string(id) + ": no matcher " + std::to_string(matcher));
        }
        auto body = model::parse_body(tmpl->second, match, actions);
        const policy::Directions dirs = decode_dirs(rs->int64(2));
        Status fits = body ? proto::check_directions(dirs, body->actions()) : Status(body.error());
        if (fits && dirs.empty()) {
            fits = Error(Errc::invalid_argument, "it uses neither RX nor TX");
        }
        if (!fits) {
            return Error(Errc::device,
                         "rule " + std::to_string(id) + ": corrupt row: " + fits.error().message());
        }
        state.next_rule = std::max(state.next_rule, id + 1);
        state.rules.insert({.id = id,
                            .matcher = matcher,
                            .uid = static_cast<std::uint32_t>(rs->int64(5)),
                            .directions = dirs,
                            .body = std::move(*body)});
    }
    return state;
}

Status Store::add_matcher(const model::DesiredMatcher& m, model::MatcherKey next_matcher) {
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    auto fields = encode_fields(m.fields);
    if (!fields) {
        return fields.error().with_context("store matcher " + std::to_string(m.id));
    }
    auto q = db_.prepare("INSERT INTO matchers(id, port, priority, template) VALUES (?1,?2,?3,?4)");
    if (!q) {
        return q.error();
    }
    auto st = q->bind(1, as_i64(m.id))
                  .bind(2, m.port)
                  .bind(3, static_cast<std::int64_t>(m.priority))
                  .bind(4, *fields)
                  .run();
    if (!st) {
        return st;
    }
    st = set_meta("next_matcher", next_matcher);
    if (!st) {
        return st;
    }
    return tx->commit();
}

Status Store::add_rules(std::span<const model::DesiredRule> rules, model::RuleKey next_rule,
                        const std::map<model::MatcherKey, model::DesiredMatcher>& matchers) {
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    auto q = db_.prepare(
        "INSERT INTO rules(id, matcher, directions, match, actions, uid) "
        "VALUES (?1,?2,?3,?4,?5,?6)");
    if (!q) {
        return q.error();
    }
    model::MatchTexts match_texts(matchers);
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const model::DesiredRule& r = rules[i];
        auto fields = match_texts.of(r);
        if (!fields) {
            return fields.error().with_context("store rule " + std::to_string(r.id));
        }
        auto match = encode_fields(*fields);
        auto actions = encode_actions(model::action_texts(r.body));
        if (!match || !actions) {
            return (match ? actions.error() : match.error())
                .with_context("store rule " + std::to_string(r.id));
        }
        auto st = q->bind(1, as_i64(r.id))
                      .bind(2, as_i64(r.matcher))
                      .bind(3, static_cast<std::int64_t>(encode_dirs(r.directions)))
                      .bind(4, *match)
                      .bind(5, *actions)
                      .bind(6, static_cast<std::int64_t>(r.uid))
                      .run();
        if (!st) {
            return st.error().with_context("store rule " + std::to_string(r.id));
        }
        if (row_hook_) {
            row_hook_(i);
        }
    }
    auto st = set_meta("next_rule", next_rule);
    if (!st) {
        return st;
    }
    return tx->commit();
}

Status Store::delete_rules(std::span<const model::RuleKey> rules) {
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    auto q = db_.prepare("DELETE FROM rules WHERE id = ?1");
    if (!q) {
        return q.error();
    }
    for (const model::RuleKey id : rules) {
        auto st = q->bind(1, as_i64(id)).run();
        if (!st) {
            return st;
        }
    }
    return tx->commit();
}

Status Store::delete_matcher(model::MatcherKey matcher) {
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    for (const char* sql :
         {"DELETE FROM rules WHERE matcher = ?1", "DELETE FROM matchers WHERE id = ?1"}) {
        auto q = db_.prepare(sql);
        if (!q) {
            return q.error();
        }
        auto st = q->bind(1, as_i64(matcher)).run();
        if (!st) {
            return st;
        }
    }
    return tx->commit();
}

}  // namespace sgnic::store
