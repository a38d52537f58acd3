// RuleBody, the packed form of a desired rule: what goes in comes out, in
// the 32 bytes or on the heap, and its texts are the canonical ones.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/desired.hpp"

namespace sgnic::model {
namespace {

using policy::Action;
using policy::ActionType;

// parse_body() with lists written in place.
Expected<RuleBody> body_of(const proto::MatchTemplate& t, const std::vector<FieldText>& match,
                           const std::vector<std::string>& actions) {
    return parse_body(t, match, actions);
}

proto::MatchTemplate tmpl(const std::vector<FieldText>& fields) {
    auto t = proto::parse_template(fields);
    EXPECT_TRUE(t) << t.error().message();
    return t->match;
}

TEST(RuleBody, keeps_given_fields_and_actions_inline) {
    const auto t = tmpl({{"ipv4-dst", "/24"}, {"l4-dport", "0xffff"}, {"ip-proto", "0xff"}});
    // Given out of template order, ip-proto left out (it matches zero).
    auto body = body_of(t, {{"l4-dport", "53"}, {"ipv4-dst", "10.1.2.0"}}, {"count", "mark 7"});
    ASSERT_TRUE(body) << body.error().message();
    EXPECT_EQ(std::vector<std::uint8_t>(body->match().begin(), body->match().end()),
              (std::vector<std::uint8_t>{10, 1, 2, 0, 0, 53, 0}));
    EXPECT_EQ(body->given(), 0b011U);
    EXPECT_EQ(body->actions(), (std::vector<Action>{{.type = ActionType::count, .arg = 0},
                                                    {.type = ActionType::mark, .arg = 7}}));
    EXPECT_EQ(match_texts(t, *body),
              (std::vector<FieldText>{{"ipv4-dst", "10.1.2.0"}, {"l4-dport", "53"}}))
        << "the given fields, canonical, in template order";
    EXPECT_EQ(action_texts(*body), (std::vector<std::string>{"count", "mark 7"}));
}

TEST(RuleBody, a_body_beyond_its_inline_bytes_lives_on_the_heap_and_copies_deeply) {
    const auto t = tmpl({{"ipv6-src", "/128"}, {"ipv6-dst", "/128"}});
    auto body = body_of(t, {{"ipv6-src", "2001:db8::1"}, {"ipv6-dst", "2001:db8::2"}},
                        {"count", "mark 4294967295", "queue 3"});
    ASSERT_TRUE(body) << body.error().message();
    EXPECT_EQ(body->match().size(), 32U);
    EXPECT_EQ(body->actions().size(), 3U);
    EXPECT_EQ(body->actions()[1].arg, 4294967295U);
    RuleBody copy = *body;
    EXPECT_EQ(copy, *body);
    EXPECT_NE(copy.match().data(), body->match().data()) << "a copy owns its bytes";
    RuleBody moved = std::move(copy);
    EXPECT_EQ(moved, *body);
    copy = moved;  // assigned back after the move
    EXPECT_EQ(copy, *body);
    EXPECT_EQ(match_texts(t, moved),
              (std::vector<FieldText>{{"ipv6-src", "2001:db8::1"}, {"ipv6-dst", "2001:db8::2"}}));
    auto other = body_of(t, {{"ipv6-src", "2001:db8::1"}, {"ipv6-dst", "2001:db8::3"}},
                         {"count", "mark 4294967295", "queue 3"});
    ASSERT_TRUE(other);
    EXPECT_FALSE(*other == *body) << "one byte apart";
    auto fewer = body_of(t, {{"ipv6-src", "2001:db8::1"}, {"ipv6-dst", "2001:db8::2"}},
                         {"count", "mark 4294967295"});
    ASSERT_TRUE(fewer);
    EXPECT_FALSE(*fewer == *body) << "one action fewer";
}

// The store's rows: what goes in reads back equal, inline or on the heap,
// and the form is fixed (little-endian), not the host's memory.
TEST(RuleBody, its_stored_form_reads_back_equal) {
    const auto small = tmpl({{"ipv4-dst", "/24"}, {"l4-dport", "0xffff"}});
    const auto wide = tmpl({{"ipv6-src", "/128"}, {"ipv6-dst", "/128"}});
    struct Case {
        const proto::MatchTemplate& t;
        std::vector<FieldText> match;
        std::vector<std::string> actions;
    };
    const std::vector<Case> cases = {
        {small, {{"l4-dport", "53"}}, {"mark 258"}},
        {small, {{"ipv4-dst", "10.1.2.0"}, {"l4-dport", "80"}}, {"count", "queue 3"}},
        {wide,
         {{"ipv6-src", "2001:db8::1"}, {"ipv6-dst", "2001:db8::2"}},
         {"count", "mark 4294967295", "accept"}},
    };
    for (const Case& c : cases) {
        auto body = body_of(c.t, c.match, c.actions);
        ASSERT_TRUE(body) << body.error().message();
        std::string stored;
        body->append_stored(stored);
        const std::span<const std::uint8_t> bytes(
            reinterpret_cast<const std::uint8_t*>(stored.data()), stored.size());
        auto back = RuleBody::from_stored(c.t, bytes);
        ASSERT_TRUE(back) << back.error().message();
        EXPECT_EQ(*back, *body);
        EXPECT_EQ(action_texts(*back), c.actions);
    }
    auto mark = body_of(small, {{"l4-dport", "53"}}, {"mark 258"});
    ASSERT_TRUE(mark);
    std::string stored;
    mark->append_stored(stored);
    EXPECT_EQ(stored, std::string("\x02\x00\x06\x01"          // given, match length, actions
                                  "\x00\x00\x00\x00\x00\x35"  // 0.0.0.0, port 53
                                  "\x02\x02\x01\x00\x00",     // mark 258
                                  15));
}

TEST(RuleBody, parse_errors_name_the_field_or_action) {
    const auto t = tmpl({{"l4-dport", "0xffff"}});
    auto bad_field = body_of(t, {{"l4-sport", "1"}}, {"drop"});
    ASSERT_FALSE(bad_field);
    EXPECT_NE(bad_field.error().message().find("'l4-sport' is not in the matcher's template"),
              std::string::npos)
        << bad_field.error().message();
    auto bad_action = body_of(t, {{"l4-dport", "1"}}, {"explode"});
    ASSERT_FALSE(bad_action);
    EXPECT_NE(bad_action.error().message().find("explode"), std::string::npos)
        << bad_action.error().message();
}

}  // namespace
}  // namespace sgnic::model
