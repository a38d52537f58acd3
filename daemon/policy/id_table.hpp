// A table of records keyed by a 64-bit id, in one array sorted by id.
//
// Rule ids are handed out in ascending order, so an insert is an append and
// a lookup a binary search; a delete marks the slot dead and the array is
// compacted once most of it is dead.  Per record it costs the record itself
// plus a bit, where a node-based map costs ~50 bytes of pointers and malloc
// headers on top: at millions of rules that is the daemon's memory.
//
// T is a plain value with a member `id` (std::uint64_t-convertible) that
// never changes while T is in the table.  An insert with an id below the
// highest moves the records above it (fine for the odd one; adoption uses
// insert_many()).  Inserts and erases invalidate iterators and pointers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace sgnic::policy {

template <class T>
class IdTable {
public:
    using Id = std::uint64_t;

    class const_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = const T*;
        using reference = const T&;

        const_iterator() = default;
        reference operator*() const { return table_->slots_[index_]; }
        pointer operator->() const { return &table_->slots_[index_]; }
        const_iterator& operator++() {
            index_ = table_->next_live(index_ + 1);
            return *this;
        }
        const_iterator operator++(int) {
            const_iterator before = *this;
            ++*this;
            return before;
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) {
            return a.index_ == b.index_;
        }

    private:
        friend class IdTable;
        const_iterator(const IdTable* table, std::size_t index) : table_(table), index_(index) {}
        const IdTable* table_ = nullptr;
        std::size_t index_ = 0;
    };

    std::size_t size() const { return live_; }
    bool empty() const { return live_ == 0; }
    void reserve(std::size_t n) {
        slots_.reserve(n);
        dead_.reserve(n);
    }
    void clear() {
        slots_.clear();
        dead_.clear();
        live_ = 0;
    }

    const_iterator begin() const { return {this, next_live(0)}; }
    const_iterator end() const { return {this, slots_.size()}; }
    // The first record with an id above `id`.
    const_iterator upper_bound(Id id) const {
        const auto it = std::upper_bound(slots_.begin(), slots_.end(), id,
                                         [](Id v, const T& t) { return v < Id(t.id); });
        return {this, next_live(static_cast<std::size_t>(it - slots_.begin()))};
    }

    const T* find(Id id) const {
        const std::size_t i = slot_of(id);
        return i == kNone ? nullptr : &slots_[i];
    }
    T* find(Id id) {
        const std::size_t i = slot_of(id);
        return i == kNone ? nullptr : &slots_[i];
    }
    bool contains(Id id) const { return slot_of(id) != kNone; }
    // A record's slot: stable until the table next changes, so a reader can
    // keep a bit per record in a side array of slot_count() bits instead of
    // a set of ids.  `record` must be one of this table's.
    std::size_t slot_count() const { return slots_.size(); }
    std::size_t slot(const T& record) const {
        return static_cast<std::size_t>(&record - slots_.data());
    }
    const T& at(Id id) const {
        const T* t = find(id);
        if (t == nullptr) {
            throw std::out_of_range("IdTable: no id " + std::to_string(id));
        }
        return *t;
    }

    // False (and nothing changes) if the id is in the table already.
    bool insert(T value) {
        const Id id = value.id;
        if (slots_.empty() || Id(slots_.back().id) < id) {
            slots_.push_back(std::move(value));
            dead_.push_back(false);
            ++live_;
            return true;
        }
        const std::size_t i = lower(id);
        if (Id(slots_[i].id) == id) {
            if (!dead_[i]) {
                return false;
            }
            slots_[i] = std::move(value);  // the slot of a deleted record comes back
            dead_[i] = false;
            ++live_;
            return true;
        }
        slots_.insert(slots_.begin() + static_cast<std::ptrdiff_t>(i), std::move(value));
        dead_.insert(dead_.begin() + static_cast<std::ptrdiff_t>(i), false);
        ++live_;
        return true;
    }

    // Replaces the record with that id, or inserts it.
    void insert_or_assign(T value) {
        if (T* t = find(value.id)) {
            *t = std::move(value);
        } else {
            insert(std::move(value));
        }
    }

    // Many records in any order, at the cost of one sort and merge.  False
    // (and nothing changes) if an id is given twice or is in the table.
    bool insert_many(std::vector<T> values) {
        std::sort(values.begin(), values.end(),
                  [](const T& a, const T& b) { return Id(a.id) < Id(b.id); });
        for (std::size_t i = 0; i < values.size(); ++i) {
            if ((i > 0 && Id(values[i - 1].id) == Id(values[i].id)) || contains(values[i].id)) {
                return false;
            }
        }
        compact();
        if (!values.empty() && !slots_.empty() && Id(slots_.back().id) < Id(values.front().id)) {
            for (T& v : values) {  // all above: appended, nothing moves
                slots_.push_back(std::move(v));
            }
            dead_.assign(slots_.size(), false);
            live_ = slots_.size();
            return true;
        }
        const auto middle = static_cast<std::ptrdiff_t>(slots_.size());
        slots_.insert(slots_.end(), std::make_move_iterator(values.begin()),
                      std::make_move_iterator(values.end()));
        std::inplace_merge(slots_.begin(), slots_.begin() + middle, slots_.end(),
                           [](const T& a, const T& b) { return Id(a.id) < Id(b.id); });
        dead_.assign(slots_.size(), false);
        live_ = slots_.size();
        return true;
    }

    // False if there is no such id.
    bool erase(Id id) {
        const std::size_t i = slot_of(id);
        if (i == kNone) {
            return false;
        }
        dead_[i] = true;
        T emptied{};  // the record lets go of what it owns; the id keeps the order
        emptied.id = slots_[i].id;
        slots_[i] = std::move(emptied);
        --live_;
        if (slots_.size() - live_ > kCompactAfter && slots_.size() - live_ > live_) {
            compact();
        }
        return true;
    }

    friend bool operator==(const IdTable& a, const IdTable& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    // Dead slots tolerated before a compaction is considered: erasing a
    // few rules from a large table moves nothing.
    static constexpr std::size_t kCompactAfter = 1024;

    // The first slot, dead or live, with an id of at least `id`.
    std::size_t lower(Id id) const {
        const auto it = std::lower_bound(slots_.begin(), slots_.end(), id,
                                         [](const T& t, Id v) { return Id(t.id) < v; });
        return static_cast<std::size_t>(it - slots_.begin());
    }
    std::size_t slot_of(Id id) const {
        const std::size_t i = lower(id);
        return i == slots_.size() || Id(slots_[i].id) != id || dead_[i] ? kNone : i;
    }
    std::size_t next_live(std::size_t i) const {
        while (i < slots_.size() && dead_[i]) {
            ++i;
        }
        return i;
    }
    void compact() {
        if (live_ == slots_.size()) {
            return;
        }
        std::size_t out = 0;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (!dead_[i]) {
                if (out != i) {
                    slots_[out] = std::move(slots_[i]);
                }
                ++out;
            }
        }
        slots_.resize(out);
        dead_.assign(out, false);
    }

    std::vector<T> slots_;  // sorted by id, dead ones included
    std::vector<bool> dead_;
    std::size_t live_ = 0;
};

}  // namespace sgnic::policy
