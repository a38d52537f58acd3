// The one place sqlite3 and sqlite3_stmt handles are owned.  Errors come
// back as Error with SQLite's own message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "sgnic/proto/result.hpp"

namespace sgnic::store {

struct DbClose {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

class Statement {
public:
    explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view value);
    Statement& bind_blob(int index, std::string_view bytes);
    // true: a row is ready; false: done.  Errors carry SQLite's message.
    Expected<bool> step();
    Status run();  // step to the end, expecting no rows
    // Steps to the end, calling row() (which reads this statement's columns)
    // for each row; the first error, SQLite's or row()'s, ends the walk.
    template <typename RowFn>
    Status each_row(RowFn&& row) {
        for (;;) {
            auto ready = step();
            if (!ready) {
                return ready.error();
            }
            if (!*ready) {
                return {};
            }
            if (Status st = row(); !st) {
                return st;
            }
        }
    }
    void reset();

    std::int64_t int64(int column) const;
    std::string text(int column) const;
    // The same without a copy: valid until the statement steps or resets
    // (a load reads a million rows).
    std::string_view text_view(int column) const;
    std::span<const std::uint8_t> blob(int column) const;  // valid as text_view() is

private:
    std::unique_ptr<sqlite3_stmt, StmtFinalize> stmt_;
};

class Database {
public:
    static Expected<Database> open(const std::filesystem::path& file);

    Status exec(const std::string& sql);
    Expected<Statement> prepare(std::string_view sql);
    std::string message() const { return sqlite3_errmsg(db_.get()); }
    // Rows the last INSERT, UPDATE or DELETE changed.
    int changes() const { return sqlite3_changes(db_.get()); }

private:
    explicit Database(sqlite3* db) : db_(db) {}
    std::unique_ptr<sqlite3, DbClose> db_;
};

// BEGIN IMMEDIATE; rolled back unless commit() succeeded.
class Transaction {
public:
    static Expected<Transaction> begin(Database& db);
    Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();

    Status commit();

private:
    explicit Transaction(Database& db) : db_(&db) {}
    Database* db_;
};

}  // namespace sgnic::store
