// The steering match key and templates (kmod/sgnic_steer_key.h) against the
// uAPI's enum sgnic_match_field (proto/include/uapi/linux/sgnic.h), compiled
// in user space through tests/unit/kshim.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

extern "C" {
#include "sgnic_steer_key.h"
}

namespace {

using Bytes = std::array<uint8_t, SGNIC_STEER_KEY_BYTES>;

Bytes bytes_of(const struct sgnic_steer_key& key) {
    Bytes out{};
    std::memcpy(out.data(), key.w, sizeof(key.w));
    return out;
}

struct FieldCase {
    const char* name;
    uint32_t field;
    uint8_t offset;
    uint8_t len;
    uint8_t first_byte_mask;
};

class SteerKeyField : public ::testing::TestWithParam<FieldCase> {};

TEST_P(SteerKeyField, SitsAtItsOffsetWithItsLength) {
    const FieldCase& c = GetParam();
    const struct sgnic_steer_field* f = sgnic_steer_field(c.field);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->offset, c.offset);
    EXPECT_EQ(f->len, c.len);
    EXPECT_EQ(f->first_byte_mask, c.first_byte_mask);
    EXPECT_LE(f->offset + f->len, SGNIC_STEER_KEY_BYTES);
}

INSTANTIATE_TEST_SUITE_P(
    UapiOrder, SteerKeyField,
    ::testing::Values(FieldCase{"dmac", SGNIC_MATCH_FIELD_DMAC, 0, 6, 0xff},
                      FieldCase{"smac", SGNIC_MATCH_FIELD_SMAC, 6, 6, 0xff},
                      FieldCase{"ethertype", SGNIC_MATCH_FIELD_ETHERTYPE, 12, 2, 0xff},
                      FieldCase{"vlan_id", SGNIC_MATCH_FIELD_VLAN_ID, 14, 2, 0x0f},
                      FieldCase{"ipv4_src", SGNIC_MATCH_FIELD_IPV4_SRC, 16, 4, 0xff},
                      FieldCase{"ipv4_dst", SGNIC_MATCH_FIELD_IPV4_DST, 20, 4, 0xff},
                      FieldCase{"ipv6_src", SGNIC_MATCH_FIELD_IPV6_SRC, 24, 16, 0xff},
                      FieldCase{"ipv6_dst", SGNIC_MATCH_FIELD_IPV6_DST, 40, 16, 0xff},
                      FieldCase{"ip_proto", SGNIC_MATCH_FIELD_IP_PROTO, 56, 1, 0xff},
                      FieldCase{"l4_sport", SGNIC_MATCH_FIELD_L4_SPORT, 58, 2, 0xff},
                      FieldCase{"l4_dport", SGNIC_MATCH_FIELD_L4_DPORT, 60, 2, 0xff}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SteerKey, FieldsCoverTheUapiEnumWithoutOverlap) {
    EXPECT_EQ(SGNIC_MATCH_FIELD_MAX, 10);
    EXPECT_EQ(SGNIC_STEER_FIELDS_ALL, 0x7ffU);
    EXPECT_EQ(sgnic_steer_field(SGNIC_MATCH_FIELD_MAX + 1), nullptr);
    EXPECT_EQ(sgnic_steer_field(0xffffffffU), nullptr);
    std::array<int, SGNIC_STEER_KEY_BYTES> owner{};
    owner.fill(-1);
    for (uint32_t field = 0; field <= SGNIC_MATCH_FIELD_MAX; field++) {
        const struct sgnic_steer_field* f = sgnic_steer_field(field);
        ASSERT_NE(f, nullptr);
        EXPECT_LE(f->len, SGNIC_FIELD_MAX_LEN);
        for (uint32_t b = f->offset; b < uint32_t{f->offset} + f->len; b++) {
            EXPECT_EQ(owner[b], -1)
                << "byte " << b << " of fields " << owner[b] << " and " << field;
            owner[b] = static_cast<int>(field);
        }
    }
    // Exactly the three padding bytes belong to no field.
    for (uint32_t b : {57U, 62U, 63U}) {
        EXPECT_EQ(owner[b], -1) << "byte " << b;
    }
    EXPECT_EQ(std::count(owner.begin(), owner.end(), -1), 3);
}

TEST(SteerKey, ValuesLandInNetworkOrderAtTheirOffsets) {
    struct sgnic_steer_key key;
    sgnic_steer_key_clear(&key);
    const uint8_t dmac[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
    const uint8_t ethertype[2] = {0x08, 0x00};
    const uint8_t vlan[2] = {0x0f, 0xff};
    const uint8_t ipv4_dst[4] = {192, 0, 2, 1};
    const uint8_t proto[1] = {17};
    const uint8_t dport[2] = {0x12, 0xb5};  // 4789
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_DMAC, dmac, 6), 0);
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_ETHERTYPE, ethertype, 2), 0);
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_VLAN_ID, vlan, 2), 0);
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_IPV4_DST, ipv4_dst, 4), 0);
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_IP_PROTO, proto, 1), 0);
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_L4_DPORT, dport, 2), 0);
    Bytes want{};
    std::memcpy(&want[0], dmac, 6);
    want[12] = 0x08;
    want[14] = 0x0f;
    want[15] = 0xff;
    std::memcpy(&want[20], ipv4_dst, 4);
    want[56] = 17;
    want[60] = 0x12;
    want[61] = 0xb5;
    EXPECT_EQ(bytes_of(key), want);
}

struct BadValue {
    const char* name;
    uint32_t field;
    std::array<uint8_t, 17> value;
    uint32_t len;
};

class SteerKeyBadValue : public ::testing::TestWithParam<BadValue> {};

TEST_P(SteerKeyBadValue, IsRefusedAndLeavesTheKeyAlone) {
    const BadValue& c = GetParam();
    struct sgnic_steer_key key;
    sgnic_steer_key_clear(&key);
    const Bytes before = bytes_of(key);
    EXPECT_EQ(sgnic_steer_key_set(&key, c.field, c.value.data(), c.len), -EINVAL);
    EXPECT_EQ(bytes_of(key), before);
}

INSTANTIATE_TEST_SUITE_P(
    Refused, SteerKeyBadValue,
    ::testing::Values(BadValue{"mac_too_short", SGNIC_MATCH_FIELD_DMAC, {1, 2, 3, 4, 5}, 5},
                      BadValue{"ipv4_too_long", SGNIC_MATCH_FIELD_IPV4_SRC, {1, 2, 3, 4, 5}, 5},
                      BadValue{"ipv6_as_17_bytes", SGNIC_MATCH_FIELD_IPV6_DST, {}, 17},
                      BadValue{"vlan_id_4096", SGNIC_MATCH_FIELD_VLAN_ID, {0x10, 0x00}, 2},
                      BadValue{"vlan_id_pcp_bits", SGNIC_MATCH_FIELD_VLAN_ID, {0xe0, 0x01}, 2},
                      BadValue{"unknown_field", SGNIC_MATCH_FIELD_MAX + 1, {1}, 1},
                      BadValue{"empty", SGNIC_MATCH_FIELD_IP_PROTO, {}, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SteerTemplate, BuildsTheMaskOverTheKey) {
    struct sgnic_steer_template t;
    sgnic_steer_template_init(&t);
    const uint8_t prefix24[4] = {0xff, 0xff, 0xff, 0x00};
    const uint8_t all_ports[2] = {0xff, 0xff};
    const uint8_t vid[2] = {0x0f, 0xff};
    ASSERT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_IPV4_DST, prefix24, 4), 0);
    ASSERT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_L4_DPORT, all_ports, 2), 0);
    ASSERT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_VLAN_ID, vid, 2), 0);
    EXPECT_EQ(t.fields, (1U << SGNIC_MATCH_FIELD_IPV4_DST) | (1U << SGNIC_MATCH_FIELD_L4_DPORT) |
                            (1U << SGNIC_MATCH_FIELD_VLAN_ID));
    Bytes want{};
    want[14] = 0x0f;
    want[15] = 0xff;
    want[20] = want[21] = want[22] = 0xff;
    want[60] = want[61] = 0xff;
    EXPECT_EQ(bytes_of(t.mask), want);
}

TEST(SteerTemplate, RefusesDuplicateZeroAndOverwideMasks) {
    struct sgnic_steer_template t;
    sgnic_steer_template_init(&t);
    const uint8_t ones[2] = {0xff, 0xff};
    const uint8_t zero[2] = {0, 0};
    ASSERT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_L4_SPORT, ones, 2), 0);
    const Bytes before = bytes_of(t.mask);
    EXPECT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_L4_SPORT, ones, 2), -EINVAL);
    EXPECT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_L4_DPORT, zero, 2), -EINVAL);
    EXPECT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_VLAN_ID, ones, 2), -EINVAL);
    EXPECT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_DMAC, ones, 2), -EINVAL);
    EXPECT_EQ(t.fields, 1U << SGNIC_MATCH_FIELD_L4_SPORT);
    EXPECT_EQ(bytes_of(t.mask), before);
}

TEST(SteerTemplate, RuleValuesMustStayUnderTheMask) {
    struct sgnic_steer_template t;
    sgnic_steer_template_init(&t);
    const uint8_t prefix24[4] = {0xff, 0xff, 0xff, 0x00};
    ASSERT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_IPV4_DST, prefix24, 4), 0);

    struct sgnic_steer_key rule;
    sgnic_steer_key_clear(&rule);
    const uint8_t net[4] = {198, 51, 100, 0};
    ASSERT_EQ(sgnic_steer_key_set(&rule, SGNIC_MATCH_FIELD_IPV4_DST, net, 4), 0);
    EXPECT_TRUE(sgnic_steer_key_within(&rule, &t.mask));

    const uint8_t host[4] = {198, 51, 100, 7};  // host bits outside the /24
    ASSERT_EQ(sgnic_steer_key_set(&rule, SGNIC_MATCH_FIELD_IPV4_DST, host, 4), 0);
    EXPECT_FALSE(sgnic_steer_key_within(&rule, &t.mask));

    struct sgnic_steer_key other;
    sgnic_steer_key_clear(&other);
    const uint8_t proto[1] = {6};  // a field the template does not have
    ASSERT_EQ(sgnic_steer_key_set(&other, SGNIC_MATCH_FIELD_IP_PROTO, proto, 1), 0);
    EXPECT_FALSE(sgnic_steer_key_within(&other, &t.mask));
}

// A frame's key, masked by the template, hashes to the same row as the rule
// it matches: that is what makes the lookup find the rule.
TEST(SteerTemplate, MaskedFrameKeyHashesLikeItsRule) {
    struct sgnic_steer_template t;
    sgnic_steer_template_init(&t);
    const uint8_t prefix24[4] = {0xff, 0xff, 0xff, 0x00};
    ASSERT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_IPV4_DST, prefix24, 4), 0);

    struct sgnic_steer_key rule;
    sgnic_steer_key_clear(&rule);
    const uint8_t net[4] = {198, 51, 100, 0};
    ASSERT_EQ(sgnic_steer_key_set(&rule, SGNIC_MATCH_FIELD_IPV4_DST, net, 4), 0);

    struct sgnic_steer_key frame;
    sgnic_steer_key_clear(&frame);
    const uint8_t dst[4] = {198, 51, 100, 42};
    const uint8_t src[4] = {203, 0, 113, 9};
    const uint8_t proto[1] = {17};
    ASSERT_EQ(sgnic_steer_key_set(&frame, SGNIC_MATCH_FIELD_IPV4_DST, dst, 4), 0);
    ASSERT_EQ(sgnic_steer_key_set(&frame, SGNIC_MATCH_FIELD_IPV4_SRC, src, 4), 0);
    ASSERT_EQ(sgnic_steer_key_set(&frame, SGNIC_MATCH_FIELD_IP_PROTO, proto, 1), 0);
    EXPECT_NE(sgnic_steer_key_hash(&frame), sgnic_steer_key_hash(&rule));

    struct sgnic_steer_key masked;
    sgnic_steer_key_and(&masked, &frame, &t.mask);
    EXPECT_TRUE(sgnic_steer_key_equal(&masked, &rule));
    EXPECT_EQ(sgnic_steer_key_hash(&masked), sgnic_steer_key_hash(&rule));
}

// Rules keep their match value packed at the template's width: the fields'
// bytes run by run, adjacent fields in one run.
TEST(SteerPacking, PacksTheTemplatesFieldsInKeyOrder) {
    struct sgnic_steer_packing p;
    sgnic_steer_packing_init(
        &p, (1U << SGNIC_MATCH_FIELD_L4_DPORT) | (1U << SGNIC_MATCH_FIELD_IPV4_DST));
    ASSERT_EQ(p.n_spans, 2U);
    EXPECT_EQ(p.spans[0].offset, SGNIC_STEER_KEY_IPV4_DST);
    EXPECT_EQ(p.spans[0].len, 4U);
    EXPECT_EQ(p.spans[1].offset, SGNIC_STEER_KEY_L4_DPORT);
    EXPECT_EQ(p.spans[1].len, 2U);
    EXPECT_EQ(p.len, 6U);

    // ipv4-src and ipv4-dst, ip-proto with the ports (padding between
    // ip-proto and l4-sport keeps those apart).
    sgnic_steer_packing_init(
        &p, (1U << SGNIC_MATCH_FIELD_IPV4_SRC) | (1U << SGNIC_MATCH_FIELD_IPV4_DST) |
                (1U << SGNIC_MATCH_FIELD_IP_PROTO) | (1U << SGNIC_MATCH_FIELD_L4_SPORT) |
                (1U << SGNIC_MATCH_FIELD_L4_DPORT));
    ASSERT_EQ(p.n_spans, 3U);
    EXPECT_EQ(p.spans[0].offset, SGNIC_STEER_KEY_IPV4_SRC);
    EXPECT_EQ(p.spans[0].len, 8U);
    EXPECT_EQ(p.spans[1].offset, SGNIC_STEER_KEY_IP_PROTO);
    EXPECT_EQ(p.spans[1].len, 1U);
    EXPECT_EQ(p.spans[2].offset, SGNIC_STEER_KEY_L4_SPORT);
    EXPECT_EQ(p.spans[2].len, 4U);
    EXPECT_EQ(p.len, 13U);
}

// Every field at once: as many runs as the key has gaps, never more than
// SGNIC_STEER_SPANS_MAX, and all field bytes (61) packed.
TEST(SteerPacking, EveryFieldFitsAndNoMaskCanSplitAField) {
    struct sgnic_steer_packing p;
    sgnic_steer_packing_init(&p, SGNIC_STEER_FIELDS_ALL);
    EXPECT_LE(p.n_spans, SGNIC_STEER_SPANS_MAX);
    EXPECT_EQ(p.len, 61U);

    // A mask of every other byte over an IPv6 address is still one run.
    struct sgnic_steer_template t;
    sgnic_steer_template_init(&t);
    uint8_t every_other[16];
    for (int i = 0; i < 16; ++i) {
        every_other[i] = i % 2 == 0 ? 0xff : 0x00;
    }
    ASSERT_EQ(sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_IPV6_DST, every_other, 16), 0);
    sgnic_steer_packing_init(&p, t.fields);
    ASSERT_EQ(p.n_spans, 1U);
    EXPECT_EQ(p.spans[0].len, 16U);
}

// Pack then unpack gives the masked key back, for every field and byte.
TEST(SteerPacking, UnpackRestoresThePackedKey) {
    struct sgnic_steer_packing p;
    const uint32_t fields = (1U << SGNIC_MATCH_FIELD_DMAC) | (1U << SGNIC_MATCH_FIELD_VLAN_ID) |
                            (1U << SGNIC_MATCH_FIELD_IPV6_SRC) | (1U << SGNIC_MATCH_FIELD_L4_DPORT);
    sgnic_steer_packing_init(&p, fields);
    struct sgnic_steer_key key;
    sgnic_steer_key_clear(&key);
    const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    const uint8_t vid[2] = {0x0a, 0xbc};
    uint8_t v6[16];
    for (int i = 0; i < 16; ++i) {
        v6[i] = static_cast<uint8_t>(0xf0 + i);
    }
    const uint8_t port[2] = {0x12, 0x34};
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_DMAC, mac, 6), 0);
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_VLAN_ID, vid, 2), 0);
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_IPV6_SRC, v6, 16), 0);
    ASSERT_EQ(sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_L4_DPORT, port, 2), 0);
    std::array<uint8_t, SGNIC_STEER_KEY_BYTES> packed{};
    sgnic_steer_key_pack(&p, &key, packed.data());
    ASSERT_EQ(p.len, 6U + 2U + 16U + 2U);
    EXPECT_EQ(packed[0], 0x02);
    EXPECT_EQ(packed[6], 0x0a);
    EXPECT_EQ(packed[8], 0xf0);
    EXPECT_EQ(packed[24], 0x12);
    EXPECT_EQ(packed[26], 0) << "nothing written past the packed length";
    struct sgnic_steer_key back;
    std::memset(&back, 0xaa, sizeof(back));
    sgnic_steer_key_unpack(&p, packed.data(), &back);
    EXPECT_EQ(bytes_of(back), bytes_of(key));
}

TEST(SteerTemplate, EqualityDecidesWhetherMatchersCanShareRules) {
    struct sgnic_steer_template a;
    struct sgnic_steer_template b;
    sgnic_steer_template_init(&a);
    sgnic_steer_template_init(&b);
    const uint8_t ones[2] = {0xff, 0xff};
    const uint8_t high[2] = {0xff, 0x00};
    ASSERT_EQ(sgnic_steer_template_add(&a, SGNIC_MATCH_FIELD_L4_DPORT, ones, 2), 0);
    ASSERT_EQ(sgnic_steer_template_add(&b, SGNIC_MATCH_FIELD_L4_DPORT, ones, 2), 0);
    EXPECT_TRUE(sgnic_steer_template_equal(&a, &b));
    sgnic_steer_template_init(&b);
    ASSERT_EQ(sgnic_steer_template_add(&b, SGNIC_MATCH_FIELD_L4_DPORT, high, 2), 0);
    EXPECT_FALSE(sgnic_steer_template_equal(&a, &b));
}

// The hash of a key is the hash of its 16 words: an all-zero key hashes as
// the kernel's jhash2() of 16 zero words does.
TEST(SteerKey, ZeroKeyHashIsJhash2OfSixteenZeroWords) {
    struct sgnic_steer_key key;
    sgnic_steer_key_clear(&key);
    EXPECT_EQ(sgnic_steer_key_hash(&key), 0xd086904fU);
}

}  // namespace
