// Argument text as sgnicctl and D-Bus callers write it: every field type,
// every form, and the malformed ones with the message a person reads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/fields.hpp"
#include "sgnic/proto/limits.hpp"

namespace sgnic::proto {
namespace {

struct Good {
    const char* field;
    const char* text;
    Bytes bytes;
    const char* canonical;
};

void PrintTo(const Good& g, std::ostream* os) { *os << g.field << " " << g.text; }

class MaskParses : public ::testing::TestWithParam<Good> {};

TEST_P(MaskParses, into_bytes_and_back_to_canonical_text) {
    const Good& g = GetParam();
    const FieldInfo* f = find_field(g.field);
    ASSERT_NE(f, nullptr);
    auto mask = parse_mask(*f, g.text);
    ASSERT_TRUE(mask) << mask.error().message();
    EXPECT_EQ(*mask, g.bytes);
    EXPECT_EQ(format_mask(*f, *mask), g.canonical);
}

INSTANTIATE_TEST_SUITE_P(
    every_field_kind, MaskParses,
    ::testing::Values(
        Good{
            "dmac", "ff:ff:ff:ff:ff:ff", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "ff:ff:ff:ff:ff:ff"},
        Good{"smac", "FF-FF-FF-00-00-00", {0xff, 0xff, 0xff, 0, 0, 0}, "ff:ff:ff:00:00:00"},
        Good{"dmac", "/24", {0xff, 0xff, 0xff, 0, 0, 0}, "ff:ff:ff:00:00:00"},
        Good{"ipv4-dst", "255.255.255.0", {255, 255, 255, 0}, "255.255.255.0"},
        Good{"ipv4-src", "/20", {255, 255, 0xf0, 0}, "255.255.240.0"},
        Good{"ipv4-src", "/32", {255, 255, 255, 255}, "255.255.255.255"},
        Good{"ipv6-dst",
             "/64",
             {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0},
             "ffff:ffff:ffff:ffff::"},
        Good{
            "ipv6-src", "ffff::", {0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "ffff::"},
        Good{"ethertype", "0xffff", {0xff, 0xff}, "0xffff"},
        Good{"vlan-id", "0xfff", {0x0f, 0xff}, "0x0fff"},
        Good{"vlan-id", "/4", {0x0f, 0x00}, "0x0f00"},
        Good{"vlan-id", "4095", {0x0f, 0xff}, "0x0fff"}, Good{"ip-proto", "255", {0xff}, "0xff"},
        Good{"l4-sport", "0xffff", {0xff, 0xff}, "0xffff"},
        Good{"l4-dport", "/8", {0xff, 0x00}, "0xff00"}));

class ValueParses : public ::testing::TestWithParam<Good> {};

TEST_P(ValueParses, into_bytes_and_back_to_canonical_text) {
    const Good& g = GetParam();
    const FieldInfo* f = find_field(g.field);
    ASSERT_NE(f, nullptr);
    auto v = parse_value(*f, g.text);
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_EQ(v->value, g.bytes);
    EXPECT_EQ(format_value(*f, v->value), g.canonical);
}

INSTANTIATE_TEST_SUITE_P(
    every_field_kind, ValueParses,
    ::testing::Values(
        Good{"dmac", "02:00:00:aa:bb:cc", {2, 0, 0, 0xaa, 0xbb, 0xcc}, "02:00:00:aa:bb:cc"},
        Good{
            "smac", "02:00:00:00:00:00/ff:00:00:00:00:00", {2, 0, 0, 0, 0, 0}, "02:00:00:00:00:00"},
        Good{"ipv4-dst", "10.1.2.3", {10, 1, 2, 3}, "10.1.2.3"},
        Good{"ipv4-dst", "10.1.0.0/16", {10, 1, 0, 0}, "10.1.0.0"},
        Good{"ipv4-src", "10.0.0.0/255.0.0.0", {10, 0, 0, 0}, "10.0.0.0"},
        Good{"ipv6-src",
             "2001:db8::1",
             {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
             "2001:db8::1"},
        Good{"ipv6-dst",
             "2001:db8::/32",
             {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
             "2001:db8::"},
        Good{"ethertype", "0x0800", {0x08, 0x00}, "0x0800"},
        Good{"ethertype", "ipv6", {0x86, 0xdd}, "0x86dd"},
        Good{"ethertype", "arp", {0x08, 0x06}, "0x0806"}, Good{"vlan-id", "100", {0, 100}, "100"},
        Good{"vlan-id", "4095", {0x0f, 0xff}, "4095"}, Good{"ip-proto", "tcp", {6}, "6"},
        Good{"ip-proto", "udp", {17}, "17"}, Good{"ip-proto", "132", {132}, "132"},
        Good{"l4-dport", "443", {0x01, 0xbb}, "443"},
        Good{"l4-sport", "0x1f90", {0x1f, 0x90}, "8080"},
        Good{"l4-dport", "0x100/0xff00", {0x01, 0x00}, "256"}));

struct Bad {
    const char* field;
    const char* text;
    const char* message;  // a substring of the error
};

void PrintTo(const Bad& b, std::ostream* os) { *os << b.field << " '" << b.text << "'"; }

class MaskRefused : public ::testing::TestWithParam<Bad> {};

TEST_P(MaskRefused, with_a_message_naming_field_and_text) {
    const Bad& b = GetParam();
    const FieldInfo* f = find_field(b.field);
    ASSERT_NE(f, nullptr);
    auto mask = parse_mask(*f, b.text);
    ASSERT_FALSE(mask) << "accepted " << b.text;
    EXPECT_EQ(mask.error().code(), Errc::invalid_argument);
    EXPECT_NE(mask.error().message().find(b.message), std::string::npos)
        << "message: " << mask.error().message();
    EXPECT_NE(mask.error().message().find(b.field), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    every_malformed_form, MaskRefused,
    ::testing::Values(Bad{"dmac", "ff:ff:ff:ff:ff", "is not a MAC address"},
                      Bad{"dmac", "ff:ff:ff:ff:ff:fg", "is not a MAC address"},
                      Bad{"dmac", "ff.ff.ff.ff.ff.ff", "is not a MAC address"},
                      Bad{"dmac", "00:00:00:00:00:00", "all zeroes"},
                      Bad{"dmac", "/49", "longer than the field's 48 bits"},
                      Bad{"ipv4-dst", "256.0.0.0", "is not an IPv4 address"},
                      Bad{"ipv4-dst", "255.255.255", "is not an IPv4 address"},
                      Bad{"ipv4-dst", "/33", "longer than the field's 32 bits"},
                      Bad{"ipv4-dst", "/0", "masks nothing"},
                      Bad{"ipv4-dst", "/x", "is not a number"},
                      Bad{"ipv4-dst", "0.0.0.0", "all zeroes"},
                      Bad{"ipv6-src", "ffff:::", "is not an IPv6 address"},
                      Bad{"ipv6-src", "/129", "longer than the field's 128 bits"},
                      Bad{"ethertype", "0x10000", "larger than 65535"},
                      Bad{"ethertype", "ipv4", "is not an ethertype"},
                      Bad{"vlan-id", "0x1000", "larger than 4095"},
                      Bad{"vlan-id", "/13", "longer than the field's 12 bits"},
                      Bad{"ip-proto", "256", "larger than 255"},
                      Bad{"l4-dport", "-1", "is not a number"},
                      Bad{"l4-dport", "0x", "is not a number"},
                      Bad{"l4-dport", "", "is not a number"}, Bad{"l4-dport", "0", "all zeroes"}));

class ValueRefused : public ::testing::TestWithParam<Bad> {};

TEST_P(ValueRefused, with_a_message_naming_field_and_text) {
    const Bad& b = GetParam();
    const FieldInfo* f = find_field(b.field);
    ASSERT_NE(f, nullptr);
    auto v = parse_value(*f, b.text);
    ASSERT_FALSE(v) << "accepted " << b.text;
    EXPECT_NE(v.error().message().find(b.message), std::string::npos)
        << "message: " << v.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    every_malformed_form, ValueRefused,
    ::testing::Values(
        Bad{"smac", "02:00:00:00:00", "is not a MAC address"},
        Bad{"ipv4-src", "10.0.0.1/24", "outside its own mask"},
        Bad{"ipv4-src", "10.0.0.0/0", "masks nothing"},
        Bad{"ipv4-src", "10.0.0.0/", "is not an IPv4 address"},
        Bad{"ipv4-src", "10.0.0.0/255.0.0.256", "is not an IPv4 address"},
        Bad{"ipv6-dst", "2001:db8::1/64", "outside its own mask"},
        Bad{"ipv6-dst", "10.0.0.1", "is not an IPv6 address"},
        Bad{"ethertype", "ipx", "is not an ethertype"},
        Bad{"ethertype", "70000", "larger than 65535"}, Bad{"vlan-id", "4096", "larger than 4095"},
        Bad{"vlan-id", "ten", "is not a number"}, Bad{"ip-proto", "tcpp", "is not a protocol"},
        Bad{"ip-proto", "300", "larger than 255"}, Bad{"l4-sport", "65536", "larger than 65535"},
        Bad{"l4-sport", "80/0", "all zeroes"}, Bad{"l4-sport", "81/0xfffe", "outside its own mask"},
        Bad{"l4-sport", " 80", "is not a number"}));

std::vector<FieldText> fields(std::initializer_list<FieldText> f) { return f; }

TEST(Template, keeps_the_order_given_and_canonicalises_masks) {
    const auto t = fields({{"ipv4-dst", "/24"}, {"ip-proto", "255"}, {"l4-dport", "0xffff"}});
    auto tmpl = parse_template(t);
    ASSERT_TRUE(tmpl) << tmpl.error().message();
    ASSERT_EQ(tmpl->match.fields.size(), 3U);
    EXPECT_EQ(tmpl->match.fields[0].field, find_field("ipv4-dst")->id);
    EXPECT_EQ(tmpl->match.fields[0].mask, (Bytes{255, 255, 255, 0}));
    EXPECT_EQ(
        tmpl->canonical,
        fields({{"ipv4-dst", "255.255.255.0"}, {"ip-proto", "0xff"}, {"l4-dport", "0xffff"}}));
}

TEST(Template, refuses_empty_unknown_and_repeated_fields) {
    EXPECT_NE(parse_template({}).error().message().find("at least one field"), std::string::npos);
    const auto unknown = fields({{"ipv5-dst", "/24"}});
    EXPECT_NE(
        parse_template(unknown).error().message().find("unknown field 'ipv5-dst' (known: dmac"),
        std::string::npos);
    const auto twice = fields({{"ip-proto", "255"}, {"ip-proto", "0xf"}});
    EXPECT_NE(parse_template(twice).error().message().find("'ip-proto' is given twice"),
              std::string::npos);
    const auto bad_mask = fields({{"ip-proto", "255"}, {"ipv4-dst", "/40"}});
    EXPECT_NE(parse_template(bad_mask).error().message().find("ipv4-dst: prefix length /40"),
              std::string::npos);
}

class MatchUnderTemplate : public ::testing::Test {
protected:
    void SetUp() override {
        const auto t = fields({{"ipv4-dst", "/24"}, {"ip-proto", "255"}, {"l4-dport", "0xff00"}});
        tmpl_ = parse_template(t)->match;
    }
    proto::MatchTemplate tmpl_;
};

TEST_F(MatchUnderTemplate, lays_values_out_in_template_order_with_zeroes_for_missing_fields) {
    const auto v = fields({{"ip-proto", "udp"}, {"ipv4-dst", "10.1.2.0/24"}});
    auto m = parse_match(tmpl_, v);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->bytes, (Bytes{10, 1, 2, 0, 17, 0, 0}));
    EXPECT_EQ(m->given, 0b011U) << "ipv4-dst and ip-proto given, l4-dport not";
}

TEST_F(MatchUnderTemplate, refuses_values_the_template_cannot_hold) {
    const std::vector<std::pair<std::vector<FieldText>, std::string>> cases = {
        {fields({{"l4-sport", "80"}}),
         "'l4-sport' is not in the matcher's template (ipv4-dst, "
         "ip-proto, l4-dport)"},
        {fields({{"ipv4-dst", "10.1.2.3"}}), "outside the matcher's mask 255.255.255.0"},
        {fields({{"ipv4-dst", "10.1.0.0/16"}}), "differs from the matcher's mask 255.255.255.0"},
        {fields({{"l4-dport", "0x1234"}}), "outside the matcher's mask 0xff00"},
        {fields({{"ip-proto", "6"}, {"ip-proto", "17"}}), "'ip-proto' is given twice"},
        {fields({{"colour", "red"}}), "unknown field 'colour'"},
    };
    for (const auto& [values, message] : cases) {
        auto m = parse_match(tmpl_, values);
        ASSERT_FALSE(m) << message;
        EXPECT_NE(m.error().message().find(message), std::string::npos)
            << "expected '" << message << "', got '" << m.error().message() << "'";
    }
}

TEST(Actions, parse_every_kind_in_order) {
    const std::vector<std::string> texts = {"count", "mark 7", "queue 0x3"};
    auto a = parse_actions(texts);
    ASSERT_TRUE(a) << a.error().message();
    ASSERT_EQ(a->size(), 3U);
    EXPECT_EQ((*a)[0], (proto::Action{proto::ActionType::count, 0}));
    EXPECT_EQ((*a)[1], (proto::Action{proto::ActionType::mark, 7}));
    EXPECT_EQ((*a)[2], (proto::Action{proto::ActionType::queue, 3}));
    EXPECT_EQ(format_action((*a)[2]), "queue 3");
    EXPECT_TRUE(parse_action("drop"));
    EXPECT_TRUE(parse_action("accept"));
    EXPECT_EQ(parse_action("mark  4294967295")->arg, 4294967295U);
}

TEST(Actions, mark_and_queue_belong_to_rx_rules) {
    const std::vector<proto::Action> marked = {{proto::ActionType::count, 0},
                                               {proto::ActionType::mark, 7}};
    EXPECT_TRUE(check_directions(proto::Directions::rx_only(), marked));
    auto tx = check_directions(proto::Directions::tx_only(), marked);
    ASSERT_FALSE(tx);
    EXPECT_EQ(tx.error().code(), Errc::invalid_argument);
    EXPECT_EQ(tx.error().message(),
              "action 'mark 7' acts on received frames: the rule's direction must be rx, not tx");
    const std::vector<proto::Action> queued = {{proto::ActionType::queue, 2}};
    auto both = check_directions(proto::Directions::both(), queued);
    ASSERT_FALSE(both);
    EXPECT_EQ(both.error().message(),
              "action 'queue 2' acts on received frames: the rule's direction must be rx, not "
              "both");
    const std::vector<proto::Action> counted = {{proto::ActionType::count, 0},
                                                {proto::ActionType::drop, 0}};
    EXPECT_TRUE(check_directions(proto::Directions::both(), counted));
    EXPECT_TRUE(check_directions(proto::Directions::tx_only(), counted));
}

TEST(Actions, refuse_malformed_lists_with_a_reason) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{}, "at least one action"},
        {{"drop", "count"}, "follows the terminal action 'drop'"},
        {{"queue 1", "accept"}, "follows the terminal action 'queue 1'"},
        {{"count", "count"}, "'count' is given twice"},
        {{"mark"}, "mark needs a number"},
        {{"mark 4294967296"}, "mark needs a number"},
        {{"queue -1"}, "queue needs a number"},
        {{"drop 1"}, "drop takes no argument"},
        {{"redirect 3"}, "unknown action 'redirect 3'"},
        {{""}, "unknown action ''"},
        {std::vector<std::string>(kMaxActions + 1, "count"), "at most 16 actions"},
    };
    for (const auto& [texts, message] : cases) {
        auto a = parse_actions(texts);
        ASSERT_FALSE(a) << message;
        EXPECT_NE(a.error().message().find(message), std::string::npos)
            << "expected '" << message << "', got '" << a.error().message() << "'";
    }
}

TEST(Directions, parse_and_format) {
    EXPECT_EQ(*parse_directions("rx"), proto::Directions::rx_only());
    EXPECT_EQ(*parse_directions("tx"), proto::Directions::tx_only());
    EXPECT_EQ(*parse_directions("both"), proto::Directions::both());
    EXPECT_EQ(*parse_directions("rx,tx"), proto::Directions::both());
    EXPECT_EQ(format_directions(proto::Directions::both()), "both");
    EXPECT_NE(parse_directions("up").error().message().find("'up' is not one of rx, tx, both"),
              std::string::npos);
    EXPECT_FALSE(parse_directions(""));
}

TEST(Fields, every_uapi_field_has_a_name_that_finds_it) {
    for (const FieldInfo& f : all_fields()) {
        EXPECT_EQ(find_field(f.name), &f);
        EXPECT_EQ(find_field_by_id(f.id), &f);
    }
    EXPECT_EQ(find_field("nope"), nullptr);
}

// The kernel dumps match values in field id order; a template may list its
// fields in any order.
TEST(Match, in_field_id_order_rearranges_by_field_id_and_refuses_a_misfit) {
    const MatchTemplate tmpl{.fields = {{.field = SGNIC_MATCH_FIELD_L4_DPORT, .mask = {0xff, 0xff}},
                                        {.field = SGNIC_MATCH_FIELD_IP_PROTO, .mask = {0xff}}}};
    const Bytes template_order = {0, 53, 17};
    EXPECT_EQ(in_field_id_order(tmpl, template_order), (Bytes{17, 0, 53}));
    EXPECT_TRUE(in_field_id_order(tmpl, Bytes{0, 53}).empty()) << "too short";
    EXPECT_TRUE(in_field_id_order(tmpl, Bytes{0, 53, 17, 1}).empty()) << "too long";
}

}  // namespace
}  // namespace sgnic::proto
