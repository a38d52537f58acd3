#include "store/store.hpp"

#include <nlohmann/json.hpp>
#include <system_error>

namespace sgnic::store {

using nlohmann::json;

namespace {

constexpr std::string_view kFileName = "state.db";

constexpr int kDirRx = 1;  // SGNIC_DIRECTION_RX
constexpr int kDirTx = 2;  // SGNIC_DIRECTION_TX

std::string encode_fields(const std::vector<proto::FieldText>& fields) {
    json out = json::array();
    for (const auto& f : fields) {
        out.push_back({f.field, f.text});
    }
    return out.dump();
}

Expected<std::vector<proto::FieldText>> decode_fields(const std::string& text) {
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

Expected<std::vector<std::string>> decode_strings(const std::string& text) {
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
    // Version 0 -> 1: the first schema.
    auto st = db_.exec(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE matchers (id INTEGER PRIMARY KEY, port TEXT NOT NULL,"
        "  priority INTEGER NOT NULL, template TEXT NOT NULL);"
        "CREATE TABLE rules (id INTEGER PRIMARY KEY,"
        "  matcher INTEGER NOT NULL REFERENCES matchers(id),"
        "  directions INTEGER NOT NULL, match TEXT NOT NULL, actions TEXT NOT NULL,"
        "  uid INTEGER NOT NULL);"
        "CREATE INDEX rules_by_matcher ON rules(matcher);"
        "PRAGMA user_version = 1;");
    if (!st) {
        return st;
    }
    return tx->commit();
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
        state.next_matcher = std::max(state.next_matcher, m.id + 1);
        state.matchers.emplace(m.id, std::move(m));
    }
    auto rs = db_.prepare("SELECT id, matcher, directions, match, actions, uid FROM rules");
    if (!rs) {
        return rs.error();
    }
    for (;;) {
        auto row = rs->step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            break;
        }
        auto match = decode_fields(rs->text(3));
        if (!match) {
            return match.error();
        }
        auto actions = decode_strings(rs->text(4));
        if (!actions) {
            return actions.error();
        }
        model::DesiredRule r{.id = static_cast<model::RuleKey>(rs->int64(0)),
                             .matcher = static_cast<model::MatcherKey>(rs->int64(1)),
                             .directions = decode_dirs(rs->int64(2)),
                             .match = std::move(*match),
                             .actions = std::move(*actions),
                             .uid = static_cast<std::uint32_t>(rs->int64(5))};
        state.next_rule = std::max(state.next_rule, r.id + 1);
        state.rules.emplace(r.id, std::move(r));
    }
    return state;
}

Status Store::add_matcher(const model::DesiredMatcher& m, model::MatcherKey next_matcher) {
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    auto q = db_.prepare("INSERT INTO matchers(id, port, priority, template) VALUES (?1,?2,?3,?4)");
    if (!q) {
        return q.error();
    }
    auto st = q->bind(1, as_i64(m.id))
                  .bind(2, m.port)
                  .bind(3, static_cast<std::int64_t>(m.priority))
                  .bind(4, encode_fields(m.fields))
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

Status Store::add_rules(std::span<const model::DesiredRule> rules, model::RuleKey next_rule) {
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
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const model::DesiredRule& r = rules[i];
        auto st = q->bind(1, as_i64(r.id))
                      .bind(2, as_i64(r.matcher))
                      .bind(3, static_cast<std::int64_t>(encode_dirs(r.directions)))
                      .bind(4, encode_fields(r.match))
                      .bind(5, json(r.actions).dump())
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
