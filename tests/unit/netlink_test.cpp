// The netlink client library (daemon/netlink): requests are built with the
// attributes proto/sgnic.yaml names, replies and extended acks parse back.
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sgnic.h>

#include <cstring>
#include <vector>

#include "netlink/sgnic_netlink.hpp"

namespace {

namespace nl = sgnic::nl;
constexpr uint16_t kFamily = 0x20;

std::vector<uint16_t> top_types(const nl::Message& m) {
    std::vector<uint16_t> out;
    nl::for_each_attr(m.header(), sizeof(genlmsghdr),
                      [&](const nlattr* a) { out.push_back(mnl_attr_get_type(a)); });
    return out;
}

nl::RuleSpec rule(uint32_t id) {
    nl::RuleSpec r;
    r.id = id;
    r.direction = SGNIC_DIRECTION_RX;
    r.match = {{SGNIC_MATCH_FIELD_IPV4_DST, {10, 0, 0, static_cast<uint8_t>(id)}},
               {SGNIC_MATCH_FIELD_L4_DPORT, {0, 53}}};
    r.actions = {{SGNIC_ACTION_TYPE_MARK, 42, std::nullopt},
                 {SGNIC_ACTION_TYPE_QUEUE, std::nullopt, 1}};
    return r;
}

TEST(NetlinkMessage, MatcherNewCarriesTemplateAndBothSizeLogs) {
    nl::MatcherSpec spec;
    spec.ifindex = 7;
    spec.id = 3;
    spec.priority = 5;
    spec.tmpl = {{SGNIC_MATCH_FIELD_IPV4_DST, {0xff, 0xff, 0xff, 0x00}},
                 {SGNIC_MATCH_FIELD_IP_PROTO, {0xff}}};
    spec.rx_size_log = 12;
    spec.tx_size_log = 0;
    const auto msg = nl::build_matcher_new(kFamily, 9, spec);
    EXPECT_EQ(msg.header()->nlmsg_type, kFamily);
    EXPECT_EQ(msg.header()->nlmsg_seq, 9U);
    EXPECT_TRUE(msg.header()->nlmsg_flags & NLM_F_ACK);
    // The request and the reply share the matcher attribute set.
    const auto m = nl::parse_matcher(msg.header());
    EXPECT_EQ(m.cmd, SGNIC_CMD_MATCHER_NEW);
    EXPECT_EQ(m.ifindex, 7U);
    EXPECT_EQ(m.id, 3U);
    EXPECT_EQ(m.priority, 5U);
    ASSERT_EQ(m.tmpl.size(), 2U);
    EXPECT_EQ(m.tmpl[0].field, static_cast<uint32_t>(SGNIC_MATCH_FIELD_IPV4_DST));
    EXPECT_EQ(m.tmpl[0].mask, (nl::Bytes{0xff, 0xff, 0xff, 0x00}));
    EXPECT_EQ(m.rx.size_log, 12U);
    EXPECT_EQ(m.tx.size_log, 0U);
}

TEST(NetlinkMessage, MatcherIdIsLeftOutWhenTheKernelPicks) {
    nl::MatcherSpec spec;
    spec.ifindex = 7;
    const auto types = top_types(nl::build_matcher_new(kFamily, 1, spec));
    EXPECT_EQ(std::count(types.begin(), types.end(), SGNIC_A_MATCHER_ID), 0);
}

TEST(NetlinkMessage, RuleNewPutsOneNestPerRuleWithMatchAndActions) {
    const std::vector<nl::RuleSpec> rules{rule(1), rule(2), rule(3)};
    const auto msg = nl::build_rule_new(kFamily, 1, 7, 2, SGNIC_BULK_FLAGS_CONTINUE, rules);
    const auto types = top_types(msg);
    EXPECT_EQ(std::count(types.begin(), types.end(), SGNIC_A_RULES_RULE), 3);
    EXPECT_EQ(std::count(types.begin(), types.end(), SGNIC_A_RULES_FLAGS), 1);

    uint32_t ids = 0;
    nl::for_each_attr(msg.header(), sizeof(genlmsghdr), [&](const nlattr* a) {
        if (mnl_attr_get_type(a) != SGNIC_A_RULES_RULE) {
            return;
        }
        int matches = 0;
        int actions = 0;
        nl::for_each_nested(a, [&](const nlattr* x) {
            switch (mnl_attr_get_type(x)) {
                case SGNIC_A_RULE_ID:
                    ids += mnl_attr_get_u32(x);
                    break;
                case SGNIC_A_RULE_MATCH:
                    matches++;
                    break;
                case SGNIC_A_RULE_ACTION:
                    actions++;
                    break;
                default:
                    break;
            }
        });
        EXPECT_EQ(matches, 2);
        EXPECT_EQ(actions, 2);
    });
    EXPECT_EQ(ids, 6U);
}

// A rule of every optional attribute and values of 1, 6 and 16 bytes (each
// padded differently); cookie and owner only on odd ids.
nl::RuleSpec full_rule(uint32_t id) {
    nl::RuleSpec r = rule(id);
    r.direction = SGNIC_DIRECTION_RX | SGNIC_DIRECTION_TX;
    if (id % 2 == 1) {
        r.cookie = 0x1122334455667700ULL + id;
        r.owner = SGNIC_OWNER_SGNICD;
    }
    r.match.push_back({SGNIC_MATCH_FIELD_IP_PROTO, {17}});
    r.match.push_back({SGNIC_MATCH_FIELD_DMAC, {2, 0, 0, 0, 0, static_cast<uint8_t>(id)}});
    r.match.push_back({SGNIC_MATCH_FIELD_IPV6_DST, nl::Bytes(16, static_cast<uint8_t>(id))});
    r.actions.push_back({SGNIC_ACTION_TYPE_COUNT, std::nullopt, std::nullopt});
    return r;
}

TEST(NetlinkMessage, RuleNewBytesAreWhatLibmnlPutsAttributeByAttribute) {
    const std::vector<nl::RuleSpec> rules{full_rule(1), full_rule(2), rule(3)};
    const auto msg = nl::build_rule_new(kFamily, 4, 7, 2, SGNIC_BULK_FLAGS_CONTINUE, rules);
    // The same request through the generic puts, one libmnl call each.
    nl::Message ref(kFamily, SGNIC_CMD_RULE_NEW, NLM_F_REQUEST | NLM_F_ACK, 4);
    ref.put_u32(SGNIC_A_RULES_IFINDEX, 7);
    ref.put_u32(SGNIC_A_RULES_MATCHER_ID, 2);
    ref.put_u32(SGNIC_A_RULES_FLAGS, SGNIC_BULK_FLAGS_CONTINUE);
    for (const nl::RuleSpec& r : rules) {
        const size_t nest = ref.start_nest(SGNIC_A_RULES_RULE);
        ref.put_u32(SGNIC_A_RULE_ID, r.id);
        ref.put_u32(SGNIC_A_RULE_DIRECTION, r.direction);
        if (r.cookie) {
            ref.put_u64(SGNIC_A_RULE_COOKIE, r.cookie);
        }
        if (r.owner) {
            ref.put_u32(SGNIC_A_RULE_OWNER, r.owner);
        }
        for (const nl::MatchEntry& e : r.match) {
            const size_t entry = ref.start_nest(SGNIC_A_RULE_MATCH);
            ref.put_u32(SGNIC_A_MATCH_ENTRY_FIELD, e.field);
            ref.put_bytes(SGNIC_A_MATCH_ENTRY_VALUE, e.value.data(), e.value.size());
            ref.end_nest(entry);
        }
        for (const nl::Action& a : r.actions) {
            const size_t entry = ref.start_nest(SGNIC_A_RULE_ACTION);
            ref.put_u32(SGNIC_A_ACTION_TYPE, a.type);
            if (a.mark) {
                ref.put_u32(SGNIC_A_ACTION_MARK, *a.mark);
            }
            if (a.queue) {
                ref.put_u32(SGNIC_A_ACTION_QUEUE, *a.queue);
            }
            ref.end_nest(entry);
        }
        ref.end_nest(nest);
    }
    ASSERT_EQ(msg.size(), ref.size());
    EXPECT_EQ(std::memcmp(msg.data(), ref.data(), msg.size()), 0);
}

TEST(NetlinkMessage, BatchesNeverExceedTheByteLimit) {
    std::vector<nl::RuleSpec> rules;
    for (uint32_t i = 1; i <= 1000; i++) {
        rules.push_back(i % 3 == 0 ? full_rule(i) : rule(i));
    }
    for (size_t limit : {512U, 4096U, 65536U}) {
        const auto [fits, n] =
            nl::build_rule_new_upto(kFamily, 1, 7, 2, SGNIC_BULK_FLAGS_CONTINUE, rules, limit);
        ASSERT_GT(n, 0U);
        EXPECT_LE(fits.size(), limit) << "limit " << limit;
        // The same bytes as the message of those rules alone.
        const auto alone = nl::build_rule_new(kFamily, 1, 7, 2, SGNIC_BULK_FLAGS_CONTINUE,
                                              std::span(rules).first(n));
        ASSERT_EQ(fits.size(), alone.size()) << "limit " << limit;
        EXPECT_EQ(std::memcmp(fits.data(), alone.data(), fits.size()), 0) << "limit " << limit;
        if (n < rules.size()) {
            const auto over = nl::build_rule_new(kFamily, 1, 7, 2, SGNIC_BULK_FLAGS_CONTINUE,
                                                 std::span(rules).first(n + 1));
            EXPECT_GT(over.size(), limit) << "limit " << limit;
        }
    }
}

TEST(NetlinkMessage, RuleDelCarriesIdsOnlyAndOptionalMatcher) {
    const std::vector<uint32_t> ids{4, 5};
    const auto del = nl::build_rule_ids(kFamily, 1, SGNIC_CMD_RULE_DEL, 7, 0, 0, ids);
    auto types = top_types(del);
    EXPECT_EQ(std::count(types.begin(), types.end(), SGNIC_A_RULES_MATCHER_ID), 0);
    EXPECT_EQ(std::count(types.begin(), types.end(), SGNIC_A_RULES_RULE), 2);
    const auto move = nl::build_rule_ids(kFamily, 1, SGNIC_CMD_RULE_MOVE, 7, 3, 0, ids);
    types = top_types(move);
    EXPECT_EQ(std::count(types.begin(), types.end(), SGNIC_A_RULES_MATCHER_ID), 1);
}

TEST(NetlinkMessage, RuleDumpCarriesTheIdRangeOnlyWhenBounded) {
    const auto all = nl::build_rule_dump(kFamily, 1, 7, 3);
    EXPECT_EQ(top_types(all),
              (std::vector<uint16_t>{SGNIC_A_RULE_IFINDEX, SGNIC_A_RULE_MATCHER_ID}));
    EXPECT_EQ(all.header()->nlmsg_flags & NLM_F_DUMP, NLM_F_DUMP);
    const auto page = nl::build_rule_dump(kFamily, 1, 7, 3, {.first = 100, .last = 199});
    EXPECT_EQ(top_types(page), (std::vector<uint16_t>{SGNIC_A_RULE_IFINDEX, SGNIC_A_RULE_MATCHER_ID,
                                                      SGNIC_A_RULE_ID, SGNIC_A_RULE_LAST_ID}));
    std::vector<uint32_t> values;
    nl::for_each_attr(page.header(), sizeof(genlmsghdr),
                      [&](const nlattr* a) { values.push_back(mnl_attr_get_u32(a)); });
    EXPECT_EQ(values, (std::vector<uint32_t>{7, 3, 100, 199}));
    const auto from = nl::build_rule_dump(kFamily, 1, 0, 0, {.first = 5});
    EXPECT_EQ(top_types(from), std::vector<uint16_t>{SGNIC_A_RULE_ID});
}

TEST(NetlinkParse, BulkReplyWithResults) {
    nl::Message reply(kFamily, SGNIC_CMD_RULE_NEW, 0, 1);
    reply.put_u32(SGNIC_A_RULES_APPLIED, 9);
    reply.put_u32(SGNIC_A_RULES_FAILED, 1);
    auto nest = reply.start_nest(SGNIC_A_RULES_RESULT);
    reply.put_u32(SGNIC_A_RULE_RESULT_INDEX, 4);
    reply.put_u32(SGNIC_A_RULE_RESULT_ID, 105);
    reply.put_u32(SGNIC_A_RULE_RESULT_ERRNO, ENOSPC);
    reply.put_u32(SGNIC_A_RULE_RESULT_DIRECTION, SGNIC_DIRECTION_TX);
    reply.put_string(SGNIC_A_RULE_RESULT_MSG, "collision: TX table row full");
    reply.end_nest(nest);
    const auto b = nl::parse_bulk_reply(reply.header());
    EXPECT_EQ(b.applied, 9U);
    EXPECT_EQ(b.failed, 1U);
    ASSERT_EQ(b.results.size(), 1U);
    EXPECT_EQ(b.results[0].index, 4U);
    EXPECT_EQ(b.results[0].id, 105U);
    EXPECT_EQ(b.results[0].err, static_cast<uint32_t>(ENOSPC));
    EXPECT_EQ(b.results[0].direction, static_cast<uint32_t>(SGNIC_DIRECTION_TX));
    EXPECT_EQ(b.results[0].msg, "collision: TX table row full");
}

TEST(NetlinkControl, GetFamilyAsksNlctrlByName) {
    const nl::Message req = nl::build_get_family(3, "sgnic");
    EXPECT_EQ(req.header()->nlmsg_type, GENL_ID_CTRL);
    const auto* genl = static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(req.header()));
    EXPECT_EQ(genl->cmd, CTRL_CMD_GETFAMILY);
    EXPECT_EQ(top_types(req), std::vector<uint16_t>{CTRL_ATTR_FAMILY_NAME});
    EXPECT_EQ(nl::parse_family(req.header()).name, "sgnic");
}

TEST(NetlinkControl, FamilyAnswerGivesIdNameAndGroups) {
    nl::Message m(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, 0, 1);
    const uint16_t id = 0x1b;
    m.put_bytes(CTRL_ATTR_FAMILY_ID, &id, sizeof(id));
    m.put_string(CTRL_ATTR_FAMILY_NAME, "sgnic");
    const auto groups = m.start_nest(CTRL_ATTR_MCAST_GROUPS);
    const std::pair<const char*, uint32_t> want[] = {{"events", 9}, {"other", 12}};
    uint16_t index = 1;
    for (const auto& [name, gid] : want) {
        const auto g = m.start_nest(index++);
        m.put_u32(CTRL_ATTR_MCAST_GRP_ID, gid);
        m.put_string(CTRL_ATTR_MCAST_GRP_NAME, name);
        m.end_nest(g);
    }
    m.end_nest(groups);
    const nl::FamilyInfo f = nl::parse_family(m.header());
    EXPECT_EQ(f.id, 0x1b);
    EXPECT_EQ(f.name, "sgnic");
    ASSERT_EQ(f.groups.size(), 2U);
    EXPECT_EQ(f.group("events"), 9U);
    EXPECT_EQ(f.group("other"), 12U);
    EXPECT_EQ(f.group("notify"), 0U);
}

TEST(NetlinkParse, RuleWithCountersPerDirection) {
    nl::Message m(kFamily, SGNIC_CMD_RULE_GET, 0, 1);
    m.put_u32(SGNIC_A_RULE_ID, 11);
    m.put_u32(SGNIC_A_RULE_DIRECTION, SGNIC_DIRECTION_RX);
    auto c = m.start_nest(SGNIC_A_RULE_RX_COUNTERS);
    const uint64_t packets = 1234;
    const uint64_t bytes = 5678901234ULL;
    m.put_bytes(SGNIC_A_COUNTERS_PACKETS, &packets, sizeof(packets));
    m.put_bytes(SGNIC_A_COUNTERS_BYTES, &bytes, sizeof(bytes));
    m.end_nest(c);
    const auto r = nl::parse_rule(m.header());
    EXPECT_EQ(r.id, 11U);
    ASSERT_TRUE(r.rx.has_value());
    EXPECT_EQ(r.rx->packets, packets);
    EXPECT_EQ(r.rx->bytes, bytes);
    EXPECT_FALSE(r.tx.has_value()) << "a direction without counters has none";
}

// A dump parses each rule into the same RuleInfo: nothing of the one before
// may show through.
TEST(NetlinkParse, ReusedRuleInfoHoldsOnlyTheLatestRule) {
    const auto message = [](uint32_t id, const std::vector<std::pair<uint32_t, nl::Bytes>>& match,
                            bool counters) {
        nl::Message m(kFamily, SGNIC_CMD_RULE_GET, 0, 1);
        m.put_u32(SGNIC_A_RULE_ID, id);
        for (const auto& [field, value] : match) {
            auto e = m.start_nest(SGNIC_A_RULE_MATCH);
            m.put_u32(SGNIC_A_MATCH_ENTRY_FIELD, field);
            m.put_bytes(SGNIC_A_MATCH_ENTRY_VALUE, value.data(), value.size());
            m.end_nest(e);
        }
        auto a = m.start_nest(SGNIC_A_RULE_ACTION);
        m.put_u32(SGNIC_A_ACTION_TYPE, SGNIC_ACTION_TYPE_COUNT);
        m.end_nest(a);
        if (counters) {
            auto c = m.start_nest(SGNIC_A_RULE_RX_COUNTERS);
            const uint64_t n = 5;
            m.put_bytes(SGNIC_A_COUNTERS_PACKETS, &n, sizeof(n));
            m.put_bytes(SGNIC_A_COUNTERS_BYTES, &n, sizeof(n));
            m.end_nest(c);
        }
        return m;
    };
    const auto first = message(
        1, {{SGNIC_MATCH_FIELD_IPV4_DST, {10, 0, 0, 1}}, {SGNIC_MATCH_FIELD_L4_DPORT, {0, 53}}},
        true);
    const auto second = message(2, {{SGNIC_MATCH_FIELD_IP_PROTO, {17}}}, false);
    nl::RuleInfo r;
    nl::parse_rule(first.header(), r);
    ASSERT_EQ(r.match.size(), 2U);
    nl::parse_rule(second.header(), r);
    EXPECT_EQ(r.id, 2U);
    ASSERT_EQ(r.match.size(), 1U);
    EXPECT_EQ(r.match[0].field, uint32_t{SGNIC_MATCH_FIELD_IP_PROTO});
    EXPECT_EQ(r.match[0].value, (nl::Bytes{17}));
    ASSERT_EQ(r.actions.size(), 1U) << "the actions of the rule before are gone";
    EXPECT_FALSE(r.rx.has_value()) << "the counters of the rule before are gone";
}

TEST(NetlinkParse, MalformedU32IsAnError) {
    nl::Message m(kFamily, SGNIC_CMD_RULE_GET, 0, 1);
    const uint16_t half = 1;
    m.put_bytes(SGNIC_A_RULE_ID, &half, sizeof(half));
    EXPECT_THROW(nl::parse_rule(m.header()), nl::Error);
}

TEST(NetlinkParse, ExtackMessageOfAnError) {
    // NLMSG_ERROR, capped (the request's header only), with a message TLV.
    std::vector<uint8_t> buf(256);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr)));
    err->error = -ENOSPC;
    err->msg.nlmsg_len = 1000;  // capped: not followed
    mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "sgnic: rule #3 (id 7): collision");
    mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 64);
    const auto ack = nl::parse_ack(nlh);
    EXPECT_EQ(ack.err, ENOSPC);
    EXPECT_EQ(ack.msg, "sgnic: rule #3 (id 7): collision");
    EXPECT_EQ(ack.bad_offset, 64U);
}

TEST(NetlinkParse, PlainAckIsSuccess) {
    std::vector<uint8_t> buf(64);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_flags = NLM_F_CAPPED;
    mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr));
    EXPECT_EQ(nl::parse_ack(nlh).err, 0);
}

}  // namespace
