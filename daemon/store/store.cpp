#include "store/store.hpp"

#include "sgnic/proto/load.hpp"

#include <algorithm>
#include <array>
#include <limits>
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

// Schema 5: a batch's rules in one row of rule_packs (the rows' fields
// packed, see PackWriter), a rule deleted from a pack named in
// rule_dropped until its pack is rewritten.  `first` and `last` are the
// pack's lowest and highest rule id; packs never overlap, so the pack that
// may hold a rule is the one with the greatest `first` at or below its id.
// Schema 6 adds a pack's `format` (kPackFormat; 0 for a pack schema 5 wrote).
constexpr std::string_view kPackTables =
    "CREATE TABLE rule_packs (first INTEGER PRIMARY KEY, last INTEGER NOT NULL,"
    "  rules INTEGER NOT NULL, live INTEGER NOT NULL, body BLOB NOT NULL,"
    "  format INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE rule_dropped (id INTEGER PRIMARY KEY);";
constexpr std::string_view kPackFormatColumn =
    "ALTER TABLE rule_packs ADD COLUMN format INTEGER NOT NULL DEFAULT 0";

// A row costs SQLite ~10 us of CPU in the TCG guest (a B-tree insert and a
// statement step); a pack costs one for the batch.  Smaller batches (a
// single add) stay rows: a delete from a pack costs a read of the pack.
constexpr std::size_t kPackMin = 64;
// A pack is read whole by a delete of one of its rules.
constexpr std::size_t kPackMax = 4096;
// A pack whose live rules fall to a quarter of those it holds is rewritten
// without the dropped ones, so deleted rules do not keep its size.
constexpr std::int64_t kRepackRatio = 4;

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

std::uint64_t read_le(const std::uint8_t* p, std::size_t bytes) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
        v |= std::uint64_t{p[i]} << (8 * i);
    }
    return v;
}

// A rule in a pack of format 0: its id (8 bytes), matcher (8), directions
// (1), uid (4) and stored body's length (2), little-endian, then the
// stored body (RuleBody::append_stored: given (2), match length (1),
// action count (1), the match bytes, the actions).
constexpr std::size_t kPackedHead = 8 + 8 + 1 + 4 + 2;
constexpr std::size_t kStoredMatchAt = 4;  // in a stored body
constexpr std::size_t kStoredMatchLen = 2;

// Format 1, which this sgnicd writes: each record starts with its kind.  A
// full record (kFullRecord) is then a record of format 0; the next rule of
// a run (kNextRecord) is only its match bytes: its id is one above the
// record before's, its matcher, directions, uid and the rest of its body
// those of the record before.  A load's pack (rules of one matcher, one
// action list, ids in a row) is 5 bytes a rule for an IPv4 address instead
// of 36: the store thread's system CPU of a 1M-rule load 0.47 -> 0.13 s.
constexpr std::int64_t kPackFormat = 1;
constexpr std::uint8_t kFullRecord = 0;
constexpr std::uint8_t kNextRecord = 1;

struct PackedRule {
    model::RuleKey id = 0;
    model::MatcherKey matcher = 0;
    std::int64_t directions = 0;
    std::uint32_t uid = 0;
    std::span<const std::uint8_t> body;  // stored, valid until the next record
};

// A pack's bytes in format 1, rule after rule in rising id order.
class PackWriter {
public:
    explicit PackWriter(std::string& out) : out_(out) {}

    void add(const PackedRule& r) {
        if (!before_.empty() && r.id == id_ + 1 && r.matcher == matcher_ &&
            r.directions == directions_ && r.uid == uid_ && same_but_match(r.body)) {
            out_.push_back(static_cast<char>(kNextRecord));
            out_.append(reinterpret_cast<const char*>(r.body.data()) + kStoredMatchAt,
                        r.body[kStoredMatchLen]);
        } else {
            std::array<char, 1 + kPackedHead> head{};
            head[0] = static_cast<char>(kFullRecord);
            const auto put_le = [&](std::size_t at, std::uint64_t v, std::size_t bytes) {
                for (std::size_t i = 0; i < bytes; ++i) {
                    head[1 + at + i] = static_cast<char>(v >> (8 * i));
                }
            };
            put_le(0, r.id, 8);
            put_le(8, r.matcher, 8);
            put_le(16, static_cast<std::uint64_t>(r.directions), 1);
            put_le(17, r.uid, 4);
            put_le(21, r.body.size(), 2);
            out_.append(head.data(), head.size());
            out_.append(reinterpret_cast<const char*>(r.body.data()), r.body.size());
        }
        id_ = r.id;
        matcher_ = r.matcher;
        directions_ = r.directions;
        uid_ = r.uid;
        before_.assign(r.body.begin(), r.body.end());
    }

private:
    // The body is the one before's but for its match bytes (both whole:
    // the stored form's match length fits in the body).
    bool same_but_match(std::span<const std::uint8_t> body) const {
        if (body.size() != before_.size() || body.size() <= kStoredMatchLen ||
            kStoredMatchAt + body[kStoredMatchLen] > body.size() ||
            !std::equal(body.begin(), body.begin() + kStoredMatchAt, before_.begin())) {
            return false;
        }
        const std::size_t rest = kStoredMatchAt + body[kStoredMatchLen];
        return std::equal(body.begin() + static_cast<std::ptrdiff_t>(rest), body.end(),
                          before_.begin() + static_cast<std::ptrdiff_t>(rest));
    }

    std::string& out_;
    model::RuleKey id_ = 0;
    model::MatcherKey matcher_ = 0;
    std::int64_t directions_ = 0;
    std::uint32_t uid_ = 0;
    std::vector<std::uint8_t> before_;  // the record before's body; empty at first
};

// Walks a pack's records; ids must rise.  The pack's bytes must outlive it.
class PackReader {
public:
    PackReader(std::int64_t first, std::span<const std::uint8_t> bytes, std::int64_t format)
        : first_(first), bytes_(bytes), format_(format) {}

    // False at the end of the pack.
    Expected<bool> next(PackedRule& out) {
        if (at_ == bytes_.size()) {
            return false;
        }
        if (format_ != 0 && format_ != kPackFormat) {
            return corrupt("format " + std::to_string(format_) + " is not one this sgnicd reads");
        }
        if (format_ == kPackFormat && bytes_[at_++] == kNextRecord) {
            if (Status st = next_of_run(out); !st) {
                return st.error();
            }
        } else if (format_ == kPackFormat && bytes_[at_ - 1] != kFullRecord) {
            return corrupt("record kind " + std::to_string(bytes_[at_ - 1]) + " at byte " +
                           std::to_string(at_ - 1));
        } else if (Status st = full(out); !st) {
            return st.error();
        }
        if (out.id <= last_id_) {
            return corrupt("rule " + std::to_string(out.id) + " after rule " +
                           std::to_string(last_id_));
        }
        last_id_ = out.id;
        return true;
    }

private:
    Status full(PackedRule& out) {
        const std::size_t left = bytes_.size() - at_;
        const std::uint8_t* p = bytes_.data() + at_;
        if (left < kPackedHead || left - kPackedHead < read_le(p + 21, 2)) {
            return corrupt("a record is cut short at byte " + std::to_string(at_));
        }
        const std::size_t size = kPackedHead + read_le(p + 21, 2);
        out = {.id = read_le(p, 8),
               .matcher = read_le(p + 8, 8),
               .directions = static_cast<std::int64_t>(p[16]),
               .uid = static_cast<std::uint32_t>(read_le(p + 17, 4)),
               .body = bytes_.subspan(at_ + kPackedHead, size - kPackedHead)};
        at_ += size;
        matcher_ = out.matcher;
        directions_ = out.directions;
        uid_ = out.uid;
        before_.assign(out.body.begin(), out.body.end());
        return {};
    }

    // The record before's rule with the next id and these match bytes.
    Status next_of_run(PackedRule& out) {
        if (last_id_ == 0) {
            return corrupt("the first record continues a run");
        }
        if (before_.size() <= kStoredMatchLen ||
            kStoredMatchAt + before_[kStoredMatchLen] > before_.size()) {
            return corrupt("rule " + std::to_string(last_id_) + "'s body cannot start a run");
        }
        const std::size_t len = before_[kStoredMatchLen];
        if (bytes_.size() - at_ < len) {
            return corrupt("a record is cut short at byte " + std::to_string(at_));
        }
        std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(at_), len,
                    before_.begin() + kStoredMatchAt);
        at_ += len;
        out = {.id = last_id_ + 1,
               .matcher = matcher_,
               .directions = directions_,
               .uid = uid_,
               .body = before_};
        return {};
    }

    Error corrupt(const std::string& what) const {
        return {Errc::device, "rule pack " + std::to_string(first_) + ": corrupt: " + what};
    }

    std::int64_t first_;
    std::span<const std::uint8_t> bytes_;
    std::int64_t format_;
    std::size_t at_ = 0;
    model::RuleKey last_id_ = 0;
    // The record before's rule but its id: a run's next record is read into
    // its body.
    model::MatcherKey matcher_ = 0;
    std::int64_t directions_ = 0;
    std::uint32_t uid_ = 0;
    std::vector<std::uint8_t> before_;
};

// Calls `each` with every rule of a pack, in id order, up to the first
// error it returns; a pack that does not read back is an error too.
template <typename Each>
Status for_each_packed(std::int64_t first, std::span<const std::uint8_t> bytes, std::int64_t format,
                       Each&& each) {
    PackReader pack(first, bytes, format);
    PackedRule r;
    for (;;) {
        auto more = pack.next(r);
        if (!more) {
            return more.error();
        }
        if (!*more) {
            return {};
        }
        if (Status st = each(static_cast<const PackedRule&>(r)); !st) {
            return st;
        }
    }
}

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
    // up to version 3 rules had an index by matcher; up to version 4 every
    // rule was a row (those rows stay rows).
    Status st;
    if (version == 0) {
        st = db_.exec(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
            "CREATE TABLE matchers (id INTEGER PRIMARY KEY, port TEXT NOT NULL,"
            "  priority INTEGER NOT NULL, template TEXT NOT NULL);"
            "CREATE TABLE rules " +
            std::string(kRuleColumns) + ";" + std::string(kPackTables));
    } else {
        if (version < 5) {
            st = version < 3 ? upgrade_rules(version)
                             : db_.exec("DROP INDEX IF EXISTS rules_by_matcher");
            if (st) {
                st = db_.exec(std::string(kPackTables));
            }
        } else {
            st = db_.exec(std::string(kPackFormatColumn));
        }
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
    auto count = db_.prepare(
        "SELECT (SELECT count(*) FROM rules) + (SELECT coalesce(sum(live), 0) FROM rule_packs)");
    if (!count) {
        return count.error();
    }
    if (auto row = count->step(); row && *row) {
        state.rules.reserve(static_cast<std::size_t>(count->int64(0)));
    }
    std::vector<model::RuleKey> dropped;  // rules deleted from their packs, by id
    auto ds = db_.prepare("SELECT id FROM rule_dropped ORDER BY id");
    if (!ds) {
        return ds.error();
    }
    read = ds->each_row([&]() -> Status {
        dropped.push_back(static_cast<model::RuleKey>(ds->int64(0)));
        return {};
    });
    if (!read) {
        return read.error();
    }
    auto admit = [&](model::RuleKey id, model::MatcherKey matcher, std::int64_t directions,
                     std::uint32_t uid, std::span<const std::uint8_t> stored) -> Status {
        const auto tmpl = templates.find(matcher);
        if (tmpl == templates.end()) {
            return Error(Errc::device,
                         "rule " + std::to_string(id) + ": no matcher " + std::to_string(matcher));
        }
        auto body = model::RuleBody::from_stored(tmpl->second, stored);
        const policy::Directions dirs = decode_dirs(directions);
        Status fits = body ? proto::check_directions(dirs, body->actions()) : Status(body.error());
        if (fits && dirs.empty()) {
            fits = Error(Errc::invalid_argument, "it uses neither RX nor TX");
        }
        if (!fits) {
            return Error(Errc::device,
                         "rule " + std::to_string(id) + ": corrupt row: " + fits.error().message());
        }
        state.next_rule = std::max(state.next_rule, id + 1);
        const bool added = state.rules.insert({.id = id,
                                               .matcher = matcher,
                                               .uid = uid,
                                               .directions = dirs,
                                               .body = std::move(*body)});
        if (!added) {
            return Error(Errc::device, "rule " + std::to_string(id) + " is stored twice");
        }
        return {};
    };
    // Rows and packs merged in id order: each rule is an append to the
    // rule table.
    auto rs = db_.prepare("SELECT id, matcher, directions, body, uid FROM rules ORDER BY id");
    auto ps = db_.prepare("SELECT first, body, format FROM rule_packs ORDER BY first");
    if (!rs || !ps) {
        return rs ? ps.error() : rs.error();
    }
    auto row_ready = rs->step();
    auto rows_below = [&](model::RuleKey limit) -> Status {
        for (; row_ready && *row_ready && static_cast<model::RuleKey>(rs->int64(0)) < limit;
             row_ready = rs->step()) {
            auto st = admit(static_cast<model::RuleKey>(rs->int64(0)),
                            static_cast<model::MatcherKey>(rs->int64(1)), rs->int64(2),
                            static_cast<std::uint32_t>(rs->int64(4)), rs->blob(3));
            if (!st) {
                return st;
            }
        }
        return row_ready ? Status() : Status(row_ready.error());
    };
    std::size_t next_dropped = 0;
    read = ps->each_row([&]() -> Status {
        return for_each_packed(
            ps->int64(0), ps->blob(1), ps->int64(2), [&](const PackedRule& r) -> Status {
                while (next_dropped < dropped.size() && dropped[next_dropped] < r.id) {
                    ++next_dropped;
                }
                if (next_dropped < dropped.size() && dropped[next_dropped] == r.id) {
                    return {};
                }
                auto st = rows_below(r.id);
                return st ? admit(r.id, r.matcher, r.directions, r.uid, r.body) : st;
            });
    });
    if (read) {
        read = rows_below(std::numeric_limits<model::RuleKey>::max());
    }
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
    for (std::size_t at = 0; at < rules.size();) {
        const auto part = rules.subspan(at, std::min(kPackMax, rules.size() - at));
        auto packs = part.size() >= kPackMin ? can_pack(part) : Expected<bool>(false);
        if (!packs) {
            return packs.error();
        }
        auto st = *packs ? write_pack(part, at) : write_rows(part, at);
        if (!st) {
            return st.error();
        }
        at += part.size();
    }
    if (auto st = set_meta("next_rule", next_rule); !st) {
        return st.error();
    }
    return std::move(*tx);
}

// Rules whose ids rise and fall in no other pack's range and next to no
// row: a pack then holds exactly the rules between its first and last id.
// Anything else (a caller's duplicate ids) is written as rows, which
// refuse it.
Expected<bool> Store::can_pack(std::span<const model::DesiredRule> rules) {
    for (std::size_t i = 1; i < rules.size(); ++i) {
        if (rules[i].id <= rules[i - 1].id) {
            return false;
        }
    }
    auto q = db_.prepare(
        "SELECT EXISTS (SELECT 1 FROM rules WHERE id BETWEEN ?1 AND ?2)"
        " OR EXISTS (SELECT 1 FROM rule_dropped WHERE id BETWEEN ?1 AND ?2)"
        " OR coalesce((SELECT last FROM rule_packs WHERE first <= ?2"
        "              ORDER BY first DESC LIMIT 1), -1) >= ?1");
    if (!q) {
        return q.error();
    }
    q->bind(1, as_i64(rules.front().id)).bind(2, as_i64(rules.back().id));
    auto row = q->step();
    if (!row) {
        return row.error();
    }
    return q->int64(0) == 0;
}

Status Store::write_pack(std::span<const model::DesiredRule> rules, std::size_t at) {
    std::string pack;
    pack.reserve(rules.size() * 8);  // a run's rule: its kind and match bytes
    PackWriter writer(pack);
    std::string body;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const model::DesiredRule& r = rules[i];
        body.clear();
        r.body.append_stored(body);
        writer.add(
            {.id = r.id,
             .matcher = r.matcher,
             .directions = encode_dirs(r.directions),
             .uid = r.uid,
             .body = std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size())});
        if (row_hook_) {
            row_hook_(at + i);
        }
    }
    auto q = db_.prepare(
        "INSERT INTO rule_packs(first, last, rules, live, body, format)"
        " VALUES (?1,?2,?3,?3,?4,?5)");
    if (!q) {
        return q.error();
    }
    auto st = q->bind(1, as_i64(rules.front().id))
                  .bind(2, as_i64(rules.back().id))
                  .bind(3, static_cast<std::int64_t>(rules.size()))
                  .bind_blob(4, pack)
                  .bind(5, kPackFormat)
                  .run();
    if (!st) {
        return st.error().with_context("store rules " + std::to_string(rules.front().id) + ".." +
                                       std::to_string(rules.back().id));
    }
    return {};
}

Status Store::write_rows(std::span<const model::DesiredRule> rules, std::size_t at) {
    if (auto st = refuse_packed(rules); !st) {
        return st;
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
            row_hook_(at + i);
        }
    }
    return {};
}

// A row's primary key refuses an id held by another row; this refuses one
// a pack holds.  Only the packs over the rules' range are read: none for a
// new rule, whose id is above every stored one.
Status Store::refuse_packed(std::span<const model::DesiredRule> rules) {
    if (rules.empty()) {
        return {};
    }
    const auto [low, high] = std::minmax_element(
        rules.begin(), rules.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    auto q = db_.prepare(
        "SELECT first, body, format FROM rule_packs WHERE first <= ?2 AND first >= coalesce("
        "(SELECT first FROM rule_packs WHERE first <= ?1 ORDER BY first DESC LIMIT 1), ?1)"
        " AND last >= ?1 ORDER BY first");
    auto dropped = db_.prepare("SELECT 1 FROM rule_dropped WHERE id = ?1");
    if (!q || !dropped) {
        return !q ? q.error() : dropped.error();
    }
    q->bind(1, as_i64(low->id)).bind(2, as_i64(high->id));
    std::vector<model::RuleKey> ids;
    ids.reserve(rules.size());
    for (const auto& r : rules) {
        ids.push_back(r.id);
    }
    std::sort(ids.begin(), ids.end());
    return q->each_row([&]() -> Status {
        return for_each_packed(
            q->int64(0), q->blob(1), q->int64(2), [&](const PackedRule& r) -> Status {
                if (!std::binary_search(ids.begin(), ids.end(), r.id)) {
                    return {};
                }
                auto gone = dropped->bind(1, as_i64(r.id)).step();
                if (!gone) {
                    return gone.error();
                }
                dropped->reset();
                if (!*gone) {
                    return Error(Errc::invalid_argument,
                                 "store rule " + std::to_string(r.id) + ": it is stored already");
                }
                return {};
            });
    });
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
    std::vector<model::RuleKey> packed;  // no row: in a pack, or stored nowhere
    for (const model::RuleKey id : rules) {
        if (auto st = q->bind(1, as_i64(id)).run(); !st) {
            return st;
        }
        if (db_.changes() == 0) {
            packed.push_back(id);
        }
    }
    std::sort(packed.begin(), packed.end());
    return drop_packed(packed);
}

// Each pack that holds some of `ids` (sorted) is read once: its dropped
// rules are named in rule_dropped, and the pack goes when none is left or
// is rewritten when a quarter is.
Status Store::drop_packed(std::span<const model::RuleKey> ids) {
    if (ids.empty()) {
        return {};
    }
    auto find = db_.prepare(
        "SELECT first, last, rules, live, body, format FROM rule_packs WHERE first <= ?1"
        " ORDER BY first DESC LIMIT 1");
    auto drop = db_.prepare("INSERT OR IGNORE INTO rule_dropped(id) VALUES (?1)");
    auto set_live = db_.prepare("UPDATE rule_packs SET live = ?2 WHERE first = ?1");
    if (!find || !drop || !set_live) {
        return !find ? find.error() : !drop ? drop.error() : set_live.error();
    }
    std::vector<std::uint8_t> bytes;
    std::vector<model::RuleKey> held;
    std::vector<model::RuleKey> mine;  // of `ids`, those the pack holds
    for (std::size_t i = 0; i < ids.size();) {
        auto row = find->bind(1, as_i64(ids[i])).step();
        if (!row) {
            return row.error();
        }
        const std::int64_t first = *row ? find->int64(0) : 0;
        const std::int64_t last = *row ? find->int64(1) : -1;
        if (last < as_i64(ids[i])) {  // stored nowhere
            find->reset();
            ++i;
            continue;
        }
        const std::int64_t count = find->int64(2);
        std::int64_t live = find->int64(3);
        const auto blob = find->blob(4);
        bytes.assign(blob.begin(), blob.end());
        const std::int64_t format = find->int64(5);
        find->reset();
        held.clear();
        auto walked = for_each_packed(first, bytes, format, [&](const PackedRule& r) {
            held.push_back(r.id);
            return Status();
        });
        if (!walked) {
            return walked;
        }
        mine.clear();
        for (; i < ids.size() && as_i64(ids[i]) <= last; ++i) {
            if (std::binary_search(held.begin(), held.end(), ids[i])) {
                mine.push_back(ids[i]);
            }
        }
        // A pack left with a quarter or less is rewritten at once (its
        // dropped rules not named first: a matcher's delete drops whole
        // packs); an id dropped before counts twice here, which at worst
        // rewrites the pack early.
        Status st;
        const std::int64_t left = live - static_cast<std::int64_t>(mine.size());
        if (left * kRepackRatio <= count) {
            st = repack(first, last, bytes, format, mine);
        } else if (!mine.empty()) {
            for (const model::RuleKey id : mine) {
                st = drop->bind(1, as_i64(id)).run();
                if (!st) {
                    break;
                }
                live -= db_.changes();
            }
            if (st) {
                st = set_live->bind(1, first).bind(2, live).run();
            }
        }
        if (!st) {
            return st.error().with_context("rule pack " + std::to_string(first));
        }
    }
    return {};
}

// The pack at `first` written again without its dropped rules and
// `also_dropped` (or gone, when none is left); its entries in rule_dropped
// go with it.
Status Store::repack(std::int64_t first, std::int64_t last, std::span<const std::uint8_t> bytes,
                     std::int64_t format, std::span<const model::RuleKey> also_dropped) {
    std::vector<model::RuleKey> dropped(also_dropped.begin(), also_dropped.end());
    auto ds = db_.prepare("SELECT id FROM rule_dropped WHERE id BETWEEN ?1 AND ?2 ORDER BY id");
    if (!ds) {
        return ds.error();
    }
    ds->bind(1, first).bind(2, last);
    auto read = ds->each_row([&]() -> Status {
        dropped.push_back(static_cast<model::RuleKey>(ds->int64(0)));
        return {};
    });
    if (!read) {
        return read;
    }
    std::sort(dropped.begin(), dropped.end());
    std::string kept;
    PackWriter writer(kept);
    std::int64_t kept_rules = 0;
    model::RuleKey kept_first = 0;
    model::RuleKey kept_last = 0;
    auto walked = for_each_packed(first, bytes, format, [&](const PackedRule& r) {
        if (!std::binary_search(dropped.begin(), dropped.end(), r.id)) {
            kept_first = kept_rules == 0 ? r.id : kept_first;
            kept_last = r.id;
            ++kept_rules;
            writer.add(r);
        }
        return Status();
    });
    if (!walked) {
        return walked;
    }
    auto gone = db_.prepare("DELETE FROM rule_packs WHERE first = ?1");
    auto undrop = db_.prepare("DELETE FROM rule_dropped WHERE id BETWEEN ?1 AND ?2");
    if (!gone || !undrop) {
        return !gone ? gone.error() : undrop.error();
    }
    if (auto st = gone->bind(1, first).run(); !st) {
        return st;
    }
    if (auto st = undrop->bind(1, first).bind(2, last).run(); !st) {
        return st;
    }
    if (kept_rules == 0) {
        return {};
    }
    auto q = db_.prepare(
        "INSERT INTO rule_packs(first, last, rules, live, body, format)"
        " VALUES (?1,?2,?3,?3,?4,?5)");
    if (!q) {
        return q.error();
    }
    return q->bind(1, as_i64(kept_first))
        .bind(2, as_i64(kept_last))
        .bind(3, kept_rules)
        .bind_blob(4, kept)
        .bind(5, kPackFormat)
        .run();
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
