// IdTable, the sorted array behind sgnicd's rule tables, against std::map
// as the reference: every operation in random order, the whole contents
// compared after each.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "policy/id_table.hpp"

namespace sgnic::policy {
namespace {

// Owns heap memory, so that an erased slot letting go of it is checked by
// the sanitizer build, and a moved-from record would show.
struct Record {
    std::uint64_t id = 0;
    std::shared_ptr<std::string> name;
    friend bool operator==(const Record& a, const Record& b) {
        return a.id == b.id && (a.name == nullptr) == (b.name == nullptr) &&
               (a.name == nullptr || *a.name == *b.name);
    }
};

Record make(std::uint64_t id) {
    return {.id = id, .name = std::make_shared<std::string>(std::to_string(id))};
}

::testing::AssertionResult same(const IdTable<Record>& t,
                                const std::map<std::uint64_t, Record>& ref) {
    if (t.size() != ref.size() || t.empty() != ref.empty()) {
        return ::testing::AssertionFailure() << "size " << t.size() << ", expected " << ref.size();
    }
    auto it = t.begin();
    for (const auto& [id, r] : ref) {
        if (it == t.end() || !(*it == r)) {
            return ::testing::AssertionFailure()
                   << "at id " << id << ": " << (it == t.end() ? "end" : std::to_string(it->id));
        }
        ++it;
    }
    if (it != t.end()) {
        return ::testing::AssertionFailure() << "extra record " << it->id;
    }
    return ::testing::AssertionSuccess();
}

TEST(IdTable, appends_finds_erases_and_iterates_in_id_order) {
    IdTable<Record> t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.begin(), t.end());
    for (std::uint64_t id : {3, 5, 9}) {
        EXPECT_TRUE(t.insert(make(id)));
    }
    EXPECT_FALSE(t.insert(make(5))) << "an id in the table already";
    EXPECT_TRUE(t.insert(make(4))) << "below the highest: in the middle";
    EXPECT_EQ(t.size(), 4U);
    EXPECT_EQ(*t.at(4).name, "4");
    EXPECT_THROW((void)t.at(6), std::out_of_range);
    EXPECT_EQ(t.find(6), nullptr);
    EXPECT_TRUE(t.erase(4));
    EXPECT_FALSE(t.erase(4)) << "gone already";
    EXPECT_FALSE(t.contains(4));
    EXPECT_EQ(t.upper_bound(3)->id, 5U) << "past the dead slot of 4";
    EXPECT_EQ(t.upper_bound(9), t.end());
    EXPECT_EQ(t.upper_bound(0)->id, 3U);
    EXPECT_TRUE(t.insert(make(4))) << "a deleted id comes back in its slot";
    std::vector<std::uint64_t> ids;
    for (const Record& r : t) {
        ids.push_back(r.id);
    }
    EXPECT_EQ(ids, (std::vector<std::uint64_t>{3, 4, 5, 9}));
}

TEST(IdTable, slots_number_the_records_for_a_side_array) {
    IdTable<Record> t;
    for (std::uint64_t id : {3, 5, 9, 11}) {
        t.insert(make(id));
    }
    t.erase(5);  // a dead slot keeps its place: the others keep theirs
    std::vector<bool> seen(t.slot_count());
    EXPECT_EQ(seen.size(), 4U);
    for (const Record& r : t) {
        const std::size_t s = t.slot(r);
        ASSERT_LT(s, seen.size());
        EXPECT_FALSE(seen[s]) << "slot " << s << " of two records";
        seen[s] = true;
        EXPECT_EQ(t.slot(*t.find(r.id)), s) << "found and iterated: the same slot";
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 3);
}

TEST(IdTable, insert_many_merges_and_refuses_repeats_without_changing_anything) {
    IdTable<Record> t;
    for (std::uint64_t id : {2, 4, 6}) {
        ASSERT_TRUE(t.insert(make(id)));
    }
    ASSERT_TRUE(t.erase(4));
    EXPECT_FALSE(t.insert_many({make(7), make(7)})) << "given twice";
    EXPECT_FALSE(t.insert_many({make(8), make(6)})) << "6 is in the table";
    EXPECT_EQ(t.size(), 2U);
    EXPECT_TRUE(t.insert_many({make(5), make(1), make(4), make(9)}));
    std::map<std::uint64_t, Record> ref;
    for (std::uint64_t id : {1, 2, 4, 5, 6, 9}) {
        ref.emplace(id, make(id));
    }
    EXPECT_TRUE(same(t, ref));
    EXPECT_TRUE(t.insert_many({make(11), make(10)})) << "all above: appended";
    ref.emplace(10, make(10));
    ref.emplace(11, make(11));
    EXPECT_TRUE(same(t, ref));
}

// Thousands of random operations, ids mostly ascending as the daemon hands
// them out, with deletes enough to make the table compact itself.
TEST(IdTable, matches_a_map_under_random_operations) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        std::mt19937_64 rng(seed);
        IdTable<Record> t;
        std::map<std::uint64_t, Record> ref;
        std::uint64_t next = 1;
        auto pick = [&]() -> std::uint64_t {  // an id in use, or near one
            if (ref.empty() || rng() % 8 == 0) {
                return rng() % (next + 10);
            }
            auto it = ref.lower_bound(rng() % next);
            return it == ref.end() ? ref.rbegin()->first : it->first;
        };
        for (int op = 0; op < 6000; ++op) {
            const std::string where = "seed " + std::to_string(seed) + " op " + std::to_string(op);
            switch (rng() % 10) {
                case 0:
                case 1:
                case 2: {  // the next id, or a batch of them
                    const std::uint64_t id = next++;
                    EXPECT_TRUE(t.insert(make(id))) << where;
                    ref.emplace(id, make(id));
                    break;
                }
                case 3: {  // any id: in the middle, or in the table already
                    const std::uint64_t id = pick();
                    EXPECT_EQ(t.insert(make(id)), ref.emplace(id, make(id)).second) << where;
                    next = std::max(next, id + 1);
                    break;
                }
                case 4: {
                    std::vector<Record> batch;
                    bool fresh = true;
                    for (int k = 0, n = static_cast<int>(rng() % 20); k < n; ++k) {
                        const std::uint64_t id = rng() % 2 == 0 ? next + rng() % 40 : pick();
                        for (const Record& b : batch) {
                            fresh = fresh && b.id != id;
                        }
                        fresh = fresh && !ref.contains(id);
                        batch.push_back(make(id));
                    }
                    const std::vector<Record> copy = batch;
                    EXPECT_EQ(t.insert_many(std::move(batch)), fresh) << where;
                    if (fresh) {
                        for (const Record& r : copy) {
                            ref.emplace(r.id, r);
                            next = std::max(next, r.id + 1);
                        }
                    }
                    break;
                }
                case 5: {  // replace
                    const std::uint64_t id = pick();
                    Record r = make(id);
                    *r.name += "'";
                    t.insert_or_assign(r);
                    ref.insert_or_assign(id, r);
                    next = std::max(next, id + 1);
                    break;
                }
                default: {  // erase, often: compaction must happen
                    const std::uint64_t id = pick();
                    EXPECT_EQ(t.erase(id), ref.erase(id) == 1) << where;
                    break;
                }
            }
            const std::uint64_t probe = pick();
            const auto want = ref.upper_bound(probe);
            const auto got = t.upper_bound(probe);
            ASSERT_EQ(got == t.end(), want == ref.end()) << where << " upper_bound " << probe;
            if (want != ref.end()) {
                ASSERT_EQ(got->id, want->first) << where << " upper_bound " << probe;
            }
            ASSERT_EQ(t.contains(probe), ref.contains(probe)) << where;
            if (op % 100 == 0 || op == 5999) {
                ASSERT_TRUE(same(t, ref)) << where;
            }
        }
    }
}

}  // namespace
}  // namespace sgnic::policy
