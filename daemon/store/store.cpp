#include "store/store.hpp"

#include "sgnic/proto/load.hpp"

#include <nlohmann/json.hpp>
#include <system_error>

namespace sgnic::store {

using nlohmann::json;

namespace {

constexpr std::string_view kFileName = "state.db";

// A rule row holds its body in the stored form (RuleBody::append_stored).
constexpr std::string_view kRuleColumns =
    "(id INTEGER PRIMARY KEY, matcher INTEGER NOT NULL REFERENCES matchers(id),"
    " directions INTEGER NOT NULL, body BLOB NOT NULL, uid INTEGER NOT NULL)";

constexpr int kDirRx = 1;  // SGNIC_DIRECTION_RX
constexpr int kDirTx = 2;  // SGNIC_DIRECTION_TX

// A matcher's template is plain text: its fields in the form of a
// LoadRules record's match column (sgnic/proto/load.hpp), which refuses a
// text holding a separator rather than store a row that reads back
// differently.
Expected<std::string> encode_fields(const std::vector<proto::FieldText>& fields) {
    std::string out;
    if (auto st = proto::load::append_match_column(out, fields); !st) {
        return st.error();
    }
    return out;
}

// Into `out`, reused from row to row (an upgrade of a million rows).
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

std::filesystem::path Store::file_in(const std::filesystem::path& state_dir) {
    return state_dir / kFileName;
}

Expected<Store> Store::open(const std::filesystem::path& state_dir) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) {
        return Error(Errc::device, "create " + state_dir.string() + ": " + ec.message());
    }
    auto db = Database::open(file_in(state_dir));
    if (!db) {
        return db.error();
    }
    Store store(std::move(*db));
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=1000"}) {
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
    q->reset();  // no statement may be active while an upgrade drops a table
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
    // Version 0: the tables; versions 1 and 2 had each rule's lists as texts;
    // up to version 3 rules had an index by matcher.
    Status st;
    if (version == 0) {
        st = db_.exec(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
            "CREATE TABLE matchers (id INTEGER PRIMARY KEY, port TEXT NOT NULL,"
            "  priority INTEGER NOT NULL, template TEXT NOT NULL);"
            "CREATE TABLE rules " +
            std::string(kRuleColumns) + ";");
    } else if (version < 3) {
        st = upgrade_rules(version);
    } else {
        st = db_.exec("DROP INDEX IF EXISTS rules_by_matcher");
    }
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

// Schemas 1 and 2 -> 3: each rule's match and action lists (JSON in 1, text
// in 2) become its stored body in a new rules table; schema 1's matcher
// templates become text, as 2 has them.  Rows are read first, then written:
// no table changes under its own SELECT.
Status Store::upgrade_rules(std::int64_t version) {
    const bool json_lists = version == 1;
    std::map<model::MatcherKey, proto::MatchTemplate> templates;
    {
        std::vector<std::pair<std::int64_t, std::string>> rows;
        auto q = db_.prepare("SELECT id, template FROM matchers");
        if (!q) {
            return q.error();
        }
        auto read = q->each_row([&]() -> Status {
            rows.emplace_back(q->int64(0), q->text(1));
            return {};
        });
        if (!read) {
            return read;
        }
        auto update = db_.prepare("UPDATE matchers SET template = ?2 WHERE id = ?1");
        if (!update) {
            return update.error();
        }
        for (const auto& [id, text] : rows) {
            auto fields = json_lists ? decode_fields_v1(text) : decode_fields(text);
            auto tmpl =
                fields ? proto::parse_template(*fields) : Expected<proto::Template>(fields.error());
            if (!tmpl) {
                return tmpl.error().with_context("matcher " + std::to_string(id));
            }
            templates.emplace(static_cast<model::MatcherKey>(id), std::move(tmpl->match));
            if (json_lists) {
                auto encoded = encode_fields(*fields);
                if (!encoded) {
                    return encoded.error().with_context("matcher " + std::to_string(id));
                }
                if (auto st = update->bind(1, id).bind(2, *encoded).run(); !st) {
                    return st;
                }
            }
        }
    }
    if (auto st = db_.exec("CREATE TABLE rules_new " + std::string(kRuleColumns)); !st) {
        return st;
    }
    if (auto st = copy_rules(json_lists, templates); !st) {
        return st;
    }
    return db_.exec("DROP TABLE rules; ALTER TABLE rules_new RENAME TO rules;");
}

// Every row of rules into rules_new, its lists read and stored as a body;
// the statements end with this, so the old table can be dropped after.
Status Store::copy_rules(bool json_lists,
                         const std::map<model::MatcherKey, proto::MatchTemplate>& templates) {
    auto q = db_.prepare("SELECT id, matcher, directions, match, actions, uid FROM rules");
    auto insert = db_.prepare(
        "INSERT INTO rules_new(id, matcher, directions, body, uid) VALUES (?1,?2,?3,?4,?5)");
    if (!q || !insert) {
        return q ? insert.error() : q.error();
    }
    std::vector<proto::FieldText> match;
    std::vector<std::string> actions;
    std::string body;
    return q->each_row([&]() -> Status {
        const std::int64_t id = q->int64(0);
        Status read;
        if (json_lists) {
            auto m = decode_fields_v1(q->text(3));
            auto a = decode_actions_v1(q->text(4));
            read = !m ? Status(m.error()) : !a ? Status(a.error()) : Status();
            if (read) {
                match = std::move(*m);
                actions = std::move(*a);
            }
        } else {
            read = decode_fields(q->text_view(3), match);
            if (read) {
                read = decode_actions(q->text_view(4), actions);
            }
        }
        if (!read) {
            return read.error().with_context("rule " + std::to_string(id));
        }
        const auto tmpl = templates.find(static_cast<model::MatcherKey>(q->int64(1)));
        if (tmpl == templates.end()) {
            return Error(Errc::device, "rule " + std::to_string(id) + ": no matcher " +
                                           std::to_string(q->int64(1)));
        }
        auto parsed = model::parse_body(tmpl->second, match, actions);
        if (!parsed) {
            return parsed.error().with_context("rule " + std::to_string(id));
        }
        body.clear();
        parsed->append_stored(body);
        return insert->bind(1, id)
            .bind(2, q->int64(1))
            .bind(3, q->int64(2))
            .bind_blob(4, body)
            .bind(5, q->int64(5))
            .run();
    });
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
    auto read = meta->each_row([&]() -> Status {
        const auto value = static_cast<std::uint64_t>(meta->int64(1));
        if (meta->text_view(0) == "next_matcher") {
            state.next_matcher = value;
        } else if (meta->text_view(0) == "next_rule") {
            state.next_rule = value;
        }
        return {};
    });
    if (!read) {
        return read.error();
    }
    // Each rule's body is checked once, here, under its matcher's template.
    std::map<model::MatcherKey, proto::MatchTemplate> templates;
    auto ms = db_.prepare("SELECT id, port, priority, template FROM matchers");
    if (!ms) {
        return ms.error();
    }
    read = ms->each_row([&]() -> Status {
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
        return {};
    });
    if (!read) {
        return read.error();
    }
    auto count = db_.prepare("SELECT count(*) FROM rules");
    if (!count) {
        return count.error();
    }
    if (auto row = count->step(); row && *row) {
        state.rules.reserve(static_cast<std::size_t>(count->int64(0)));
    }
    // In id order: each row is an append to the rule table.
    auto rs = db_.prepare("SELECT id, matcher, directions, body, uid FROM rules ORDER BY id");
    if (!rs) {
        return rs.error();
    }
    read = rs->each_row([&]() -> Status {
        const auto id = static_cast<model::RuleKey>(rs->int64(0));
        const auto matcher = static_cast<model::MatcherKey>(rs->int64(1));
        const auto tmpl = templates.find(matcher);
        if (tmpl == templates.end()) {
            return Error(Errc::device,
                         "rule " + std::to_string(id) + ": no matcher " + std::to_string(matcher));
        }
        auto body = model::RuleBody::from_stored(tmpl->second, rs->blob(3));
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
                            .uid = static_cast<std::uint32_t>(rs->int64(4)),
                            .directions = dirs,
                            .body = std::move(*body)});
        return {};
    });
    if (!read) {
        return read.error();
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

Status Store::add_rules(std::span<const model::DesiredRule> rules, model::RuleKey next_rule) {
    auto tx = write_rules(rules, next_rule);
    if (!tx) {
        return tx.error();
    }
    return tx->commit();
}

Expected<Transaction> Store::write_rules(std::span<const model::DesiredRule> rules,
                                         model::RuleKey next_rule) {
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    auto q = db_.prepare(
        "INSERT INTO rules(id, matcher, directions, body, uid) VALUES (?1,?2,?3,?4,?5)");
    if (!q) {
        return q.error();
    }
    std::string body;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const model::DesiredRule& r = rules[i];
        body.clear();
        r.body.append_stored(body);
        auto st = q->bind(1, as_i64(r.id))
                      .bind(2, as_i64(r.matcher))
                      .bind(3, static_cast<std::int64_t>(encode_dirs(r.directions)))
                      .bind_blob(4, body)
                      .bind(5, static_cast<std::int64_t>(r.uid))
                      .run();
        if (!st) {
            return st.error().with_context("store rule " + std::to_string(r.id));
        }
        if (row_hook_) {
            row_hook_(i);
        }
    }
    if (auto st = set_meta("next_rule", next_rule); !st) {
        return st.error();
    }
    return std::move(*tx);
}

Status Store::delete_rules(std::span<const model::RuleKey> rules) {
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    if (auto st = delete_rule_rows(rules); !st) {
        return st;
    }
    return tx->commit();
}

Status Store::delete_rule_rows(std::span<const model::RuleKey> rules) {
    auto q = db_.prepare("DELETE FROM rules WHERE id = ?1");
    if (!q) {
        return q.error();
    }
    for (const model::RuleKey id : rules) {
        if (auto st = q->bind(1, as_i64(id)).run(); !st) {
            return st;
        }
    }
    return {};
}

Status Store::delete_matcher(model::MatcherKey matcher, std::span<const model::RuleKey> rules) {
    auto tx = Transaction::begin(db_);
    if (!tx) {
        return tx.error();
    }
    if (auto st = delete_rule_rows(rules); !st) {
        return st;
    }
    auto q = db_.prepare("DELETE FROM matchers WHERE id = ?1");
    if (!q) {
        return q.error();
    }
    if (auto st = q->bind(1, as_i64(matcher)).run(); !st) {
        return st;
    }
    return tx->commit();
}

}  // namespace sgnic::store
