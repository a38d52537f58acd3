#include "store/sqlite.hpp"

#include <utility>

namespace sgnic::store {

namespace {

Error db_error(sqlite3* db, std::string_view what) {
    return {Errc::device, std::string(what) + ": " + sqlite3_errmsg(db)};
}

}  // namespace

Statement& Statement::bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_.get(), index, value);
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);  // NOLINT(cppcoreguidelines-pro-type-cstyle-cast)
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    sqlite3_bind_blob(stmt_.get(), index, bytes.data(), static_cast<int>(bytes.size()),
                      SQLITE_TRANSIENT);  // NOLINT(cppcoreguidelines-pro-type-cstyle-cast)
    return *this;
}

Expected<bool> Statement::step() {
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    return db_error(sqlite3_db_handle(stmt_.get()), "sqlite step");
}

Status Statement::run() {
    for (;;) {
        auto row = step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            reset();
            return {};
        }
    }
}

void Statement::reset() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
}

std::int64_t Statement::int64(int column) const {
    return sqlite3_column_int64(stmt_.get(), column);
}

std::string Statement::text(int column) const { return std::string(text_view(column)); }

std::string_view Statement::text_view(int column) const {
    const unsigned char* t = sqlite3_column_text(stmt_.get(), column);
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column));
    return t == nullptr ? std::string_view()
                        : std::string_view(reinterpret_cast<const char*>(t), n);
}

std::span<const std::uint8_t> Statement::blob(int column) const {
    const void* b = sqlite3_column_blob(stmt_.get(), column);
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column));
    return b == nullptr ? std::span<const std::uint8_t>()
                        : std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(b), n);
}

Expected<Database> Database::open(const std::filesystem::path& file) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(file.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    Database db(raw);  // owns it even on failure
    if (rc != SQLITE_OK) {
        return Error(Errc::device, "open " + file.string() + ": " +
                                       (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
    }
    return db;
}

Status Database::exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string message = err != nullptr ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        return Error(Errc::device, sql + ": " + message);
    }
    return {};
}

Expected<Statement> Database::prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
        return db_error(db_.get(), "prepare '" + std::string(sql) + "'");
    }
    return Statement(stmt);
}

Expected<Transaction> Transaction::begin(Database& db) {
    auto st = db.exec("BEGIN IMMEDIATE");
    if (!st) {
        return st.error();
    }
    return Transaction(db);
}

Transaction::~Transaction() {
    if (db_ != nullptr) {
        (void)db_->exec("ROLLBACK");
    }
}

Status Transaction::commit() {
    auto st = db_->exec("COMMIT");
    if (st) {
        db_ = nullptr;
    }
    return st;
}

}  // namespace sgnic::store
