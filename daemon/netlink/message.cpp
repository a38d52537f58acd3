// Message builders and parsers of the sgnic family; no socket, no kernel.
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sgnic.h>

#include <algorithm>
#include <cstring>

#include "netlink/sgnic_netlink.hpp"

namespace sgnic::nl {

Error::Error(int err, std::string extack, const std::string& what)
    : std::runtime_error(what), err_(err), extack_(std::move(extack)) {}

// ---- Message ----

Message::Message(uint16_t family, uint8_t cmd, uint16_t flags, uint32_t seq, size_t capacity)
    : buf_(std::max<size_t>(capacity, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(genlmsghdr)))) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = family;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    genl->cmd = cmd;
    genl->version = SGNIC_FAMILY_VERSION;
}

void Message::grow_to(size_t bytes) {
    if (bytes > buf_.size()) {
        buf_.resize(std::max(bytes, 2 * buf_.size()));
    }
}

void Message::reserve_more(size_t n) {
    const size_t at = header()->nlmsg_len;
    const size_t len = MNL_ATTR_HDRLEN + MNL_ALIGN(n);
    grow_to(at + len);
    // The buffer is not zeroed, and libmnl leaves an attribute's padding
    // as it finds it.
    std::memset(buf_.data() + at, 0, len);
}

uint8_t* Message::append(size_t len) {
    const size_t at = header()->nlmsg_len;
    grow_to(at + len);
    header()->nlmsg_len = static_cast<uint32_t>(at + len);
    return buf_.data() + at;
}

void Message::put_u32(uint16_t type, uint32_t v) {
    reserve_more(sizeof(v));
    mnl_attr_put_u32(header(), type, v);
}

void Message::put_u64(uint16_t type, uint64_t v) {
    reserve_more(sizeof(v));
    mnl_attr_put_u64(header(), type, v);
}

void Message::put_bytes(uint16_t type, const void* data, size_t len) {
    reserve_more(len);
    mnl_attr_put(header(), type, len, data);
}

void Message::put_string(uint16_t type, const std::string& s) {
    reserve_more(s.size() + 1);
    mnl_attr_put_strz(header(), type, s.c_str());
}

size_t Message::start_nest(uint16_t type) {
    reserve_more(0);
    const size_t offset = header()->nlmsg_len;
    mnl_attr_nest_start(header(), type);
    return offset;
}

void Message::end_nest(size_t offset) {
    nlattr attr{};
    std::memcpy(&attr, buf_.data() + offset, sizeof(attr));
    attr.nla_len = static_cast<uint16_t>(header()->nlmsg_len - offset);
    std::memcpy(buf_.data() + offset, &attr, sizeof(attr));
}

void Message::truncate(size_t offset) { header()->nlmsg_len = static_cast<uint32_t>(offset); }

size_t Message::size() const { return header()->nlmsg_len; }

const nlmsghdr* Message::header() const { return reinterpret_cast<const nlmsghdr*>(buf_.data()); }

nlmsghdr* Message::header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }

// ---- builders ----

namespace {

constexpr uint16_t kDoFlags = NLM_F_ACK;
constexpr uint16_t kDumpFlags = NLM_F_DUMP;

void put_table(Message& m, uint16_t type, uint32_t size_log) {
    auto nest = m.start_nest(type);
    m.put_u32(SGNIC_A_TABLE_SIZE_LOG, size_log);
    m.end_nest(nest);
}

}  // namespace

Message build_dev_get(uint16_t family, uint32_t seq, uint32_t ifindex) {
    Message m(family, SGNIC_CMD_DEV_GET, ifindex ? kDoFlags : kDumpFlags, seq);
    if (ifindex) {
        m.put_u32(SGNIC_A_DEV_IFINDEX, ifindex);
    }
    return m;
}

Message build_portal_dump(uint16_t family, uint32_t seq) {
    return {family, SGNIC_CMD_PORTAL_GET, kDumpFlags, seq};
}

Message build_pool_dump(uint16_t family, uint32_t seq, uint32_t ifindex) {
    Message m(family, SGNIC_CMD_POOL_GET, kDumpFlags, seq);
    if (ifindex) {
        m.put_u32(SGNIC_A_POOL_IFINDEX, ifindex);
    }
    return m;
}

Message build_matcher_new(uint16_t family, uint32_t seq, const MatcherSpec& spec) {
    Message m(family, SGNIC_CMD_MATCHER_NEW, kDoFlags, seq);
    m.put_u32(SGNIC_A_MATCHER_IFINDEX, spec.ifindex);
    if (spec.id) {
        m.put_u32(SGNIC_A_MATCHER_ID, spec.id);
    }
    m.put_u32(SGNIC_A_MATCHER_PRIORITY, spec.priority);
    for (const auto& t : spec.tmpl) {
        auto nest = m.start_nest(SGNIC_A_MATCHER_TEMPLATE);
        m.put_u32(SGNIC_A_TEMPLATE_ENTRY_FIELD, t.field);
        m.put_bytes(SGNIC_A_TEMPLATE_ENTRY_MASK, t.mask.data(), t.mask.size());
        m.end_nest(nest);
    }
    put_table(m, SGNIC_A_MATCHER_RX_TABLE, spec.rx_size_log);
    put_table(m, SGNIC_A_MATCHER_TX_TABLE, spec.tx_size_log);
    if (spec.cookie) {
        m.put_u64(SGNIC_A_MATCHER_COOKIE, spec.cookie);
    }
    if (spec.owner) {
        m.put_u32(SGNIC_A_MATCHER_OWNER, spec.owner);
    }
    return m;
}

Message build_matcher_del(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t id) {
    Message m(family, SGNIC_CMD_MATCHER_DEL, kDoFlags, seq);
    m.put_u32(SGNIC_A_MATCHER_IFINDEX, ifindex);
    m.put_u32(SGNIC_A_MATCHER_ID, id);
    return m;
}

Message build_matcher_get(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t id) {
    Message m(family, SGNIC_CMD_MATCHER_GET, id ? kDoFlags : kDumpFlags, seq);
    if (ifindex) {
        m.put_u32(SGNIC_A_MATCHER_IFINDEX, ifindex);
    }
    if (id) {
        m.put_u32(SGNIC_A_MATCHER_ID, id);
    }
    return m;
}

Message build_matcher_resize(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t id,
                             uint32_t target) {
    Message m(family, SGNIC_CMD_MATCHER_RESIZE, kDoFlags, seq);
    m.put_u32(SGNIC_A_MATCHER_IFINDEX, ifindex);
    m.put_u32(SGNIC_A_MATCHER_ID, id);
    m.put_u32(SGNIC_A_MATCHER_RESIZE_TARGET, target);
    return m;
}

namespace {

constexpr size_t kU32Attr = MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(uint32_t));
constexpr size_t kU64Attr = MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(uint64_t));

// The bytes put_rule() writes for `rule`, its nest included.
size_t rule_bytes(const RuleSpec& rule) {
    size_t len =
        MNL_ATTR_HDRLEN + 2 * kU32Attr + (rule.cookie ? kU64Attr : 0) + (rule.owner ? kU32Attr : 0);
    for (const auto& e : rule.match) {
        len += MNL_ATTR_HDRLEN + kU32Attr + MNL_ATTR_HDRLEN + MNL_ALIGN(e.value.size());
    }
    for (const auto& a : rule.actions) {
        len += MNL_ATTR_HDRLEN + kU32Attr + (a.mark ? kU32Attr : 0) + (a.queue ? kU32Attr : 0);
    }
    return len;
}

// Attributes written one after another into bytes the message reserved for
// all of them: a rule costs one size check, not one per attribute (the
// encoding was a sixth of sgnicd's thread in a bulk load).  The bytes are
// what libmnl writes (nests flagged NLA_F_NESTED, padding zeroed).
class AttrWriter {
public:
    explicit AttrWriter(uint8_t* at) : at_(at) {}
    void put(uint16_t type, const void* data, size_t len) {
        const nlattr attr{.nla_len = static_cast<uint16_t>(MNL_ATTR_HDRLEN + len),
                          .nla_type = type};
        std::memcpy(at_, &attr, sizeof(attr));
        std::memcpy(at_ + MNL_ATTR_HDRLEN, data, len);
        std::memset(at_ + MNL_ATTR_HDRLEN + len, 0, MNL_ALIGN(len) - len);
        at_ += MNL_ATTR_HDRLEN + MNL_ALIGN(len);
    }
    void put_u32(uint16_t type, uint32_t v) { put(type, &v, sizeof(v)); }
    void put_u64(uint16_t type, uint64_t v) { put(type, &v, sizeof(v)); }
    // Returns where the nest starts, for end_nest.
    uint8_t* start_nest() {
        uint8_t* nest = at_;
        at_ += MNL_ATTR_HDRLEN;
        return nest;
    }
    void end_nest(uint8_t* nest, uint16_t type) {
        const nlattr attr{.nla_len = static_cast<uint16_t>(at_ - nest),
                          .nla_type = static_cast<uint16_t>(NLA_F_NESTED | type)};
        std::memcpy(nest, &attr, sizeof(attr));
    }
    const uint8_t* at() const { return at_; }

private:
    uint8_t* at_;
};

}  // namespace

// Writes `rule`, of `len` bytes (rule_bytes(rule)), at the end of `m`.
void put_rule_sized(Message& m, const RuleSpec& rule, size_t len) {
    uint8_t* const start = m.append(len);
    AttrWriter w(start);
    uint8_t* const nest = w.start_nest();
    w.put_u32(SGNIC_A_RULE_ID, rule.id);
    w.put_u32(SGNIC_A_RULE_DIRECTION, rule.direction);
    if (rule.cookie) {
        w.put_u64(SGNIC_A_RULE_COOKIE, rule.cookie);
    }
    if (rule.owner) {
        w.put_u32(SGNIC_A_RULE_OWNER, rule.owner);
    }
    for (const auto& e : rule.match) {
        uint8_t* const entry = w.start_nest();
        w.put_u32(SGNIC_A_MATCH_ENTRY_FIELD, e.field);
        w.put(SGNIC_A_MATCH_ENTRY_VALUE, e.value.data(), e.value.size());
        w.end_nest(entry, SGNIC_A_RULE_MATCH);
    }
    for (const auto& a : rule.actions) {
        uint8_t* const entry = w.start_nest();
        w.put_u32(SGNIC_A_ACTION_TYPE, a.type);
        if (a.mark) {
            w.put_u32(SGNIC_A_ACTION_MARK, *a.mark);
        }
        if (a.queue) {
            w.put_u32(SGNIC_A_ACTION_QUEUE, *a.queue);
        }
        w.end_nest(entry, SGNIC_A_RULE_ACTION);
    }
    w.end_nest(nest, SGNIC_A_RULES_RULE);
    if (w.at() != start + len) {  // rule_bytes() and the writes disagree
        throw Error(EPROTO, "", "sgnic: a rule's encoding is not the size it was given");
    }
}

void put_rule(Message& m, const RuleSpec& rule) { put_rule_sized(m, rule, rule_bytes(rule)); }

namespace {

// Header, genl header, ifindex, matcher-id, flags.
constexpr size_t kRuleNewHead = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(genlmsghdr)) + 3 * kU32Attr;

Message rule_new_head(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t matcher_id,
                      uint32_t flags, size_t capacity) {
    Message m(family, SGNIC_CMD_RULE_NEW, kDoFlags, seq, capacity);
    m.put_u32(SGNIC_A_RULES_IFINDEX, ifindex);
    m.put_u32(SGNIC_A_RULES_MATCHER_ID, matcher_id);
    if (flags) {
        m.put_u32(SGNIC_A_RULES_FLAGS, flags);
    }
    return m;
}

}  // namespace

Message build_rule_new(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t matcher_id,
                       uint32_t flags, std::span<const RuleSpec> rules) {
    size_t bytes = kRuleNewHead;
    for (const auto& r : rules) {
        bytes += rule_bytes(r);
    }
    Message m = rule_new_head(family, seq, ifindex, matcher_id, flags, bytes);
    for (const auto& r : rules) {
        put_rule(m, r);
    }
    return m;
}

std::pair<Message, size_t> build_rule_new_upto(uint16_t family, uint32_t seq, uint32_t ifindex,
                                               uint32_t matcher_id, uint32_t flags,
                                               std::span<const RuleSpec> rules, size_t max_bytes) {
    // Room for the most it may hold (left uninitialised: no cost), and each
    // rule's size worked out once.
    Message m = rule_new_head(family, seq, ifindex, matcher_id, flags, max_bytes);
    size_t n = 0;
    for (const auto& r : rules) {
        const size_t len = rule_bytes(r);
        if (n > 0 && m.size() + len > max_bytes) {
            break;
        }
        put_rule_sized(m, r, len);
        n++;
    }
    return {std::move(m), n};
}

Message build_rule_ids(uint16_t family, uint32_t seq, uint8_t cmd, uint32_t ifindex,
                       uint32_t matcher_id, uint32_t flags, std::span<const uint32_t> ids) {
    Message m(family, cmd, kDoFlags, seq, 16384);
    m.put_u32(SGNIC_A_RULES_IFINDEX, ifindex);
    if (matcher_id) {
        m.put_u32(SGNIC_A_RULES_MATCHER_ID, matcher_id);
    }
    if (flags) {
        m.put_u32(SGNIC_A_RULES_FLAGS, flags);
    }
    for (auto id : ids) {
        auto nest = m.start_nest(SGNIC_A_RULES_RULE);
        m.put_u32(SGNIC_A_RULE_ID, id);
        m.end_nest(nest);
    }
    return m;
}

Message build_rule_get(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t id) {
    Message m(family, SGNIC_CMD_RULE_GET, kDoFlags, seq);
    m.put_u32(SGNIC_A_RULE_IFINDEX, ifindex);
    m.put_u32(SGNIC_A_RULE_ID, id);
    return m;
}

Message build_rule_dump(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t matcher_id,
                        IdRange range) {
    Message m(family, SGNIC_CMD_RULE_GET, kDumpFlags, seq);
    if (ifindex) {
        m.put_u32(SGNIC_A_RULE_IFINDEX, ifindex);
    }
    if (matcher_id) {
        m.put_u32(SGNIC_A_RULE_MATCHER_ID, matcher_id);
    }
    if (range.first) {
        m.put_u32(SGNIC_A_RULE_ID, range.first);
    }
    if (range.last) {
        m.put_u32(SGNIC_A_RULE_LAST_ID, range.last);
    }
    return m;
}

// ---- parsers ----

namespace {

uint32_t get_u32(const nlattr* a) {
    if (mnl_attr_get_payload_len(a) != sizeof(uint32_t)) {
        throw Error(EPROTO, "", "sgnic: malformed u32 attribute");
    }
    return mnl_attr_get_u32(a);
}

uint64_t get_u64(const nlattr* a) {
    if (mnl_attr_get_payload_len(a) != sizeof(uint64_t)) {
        throw Error(EPROTO, "", "sgnic: malformed u64 attribute");
    }
    return mnl_attr_get_u64(a);
}

Bytes get_bytes(const nlattr* a) {
    const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
    return {p, p + mnl_attr_get_payload_len(a)};
}

std::string get_string(const nlattr* a) {
    const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
    return {p, strnlen(p, mnl_attr_get_payload_len(a))};
}

template <class F>
void for_each_genl_attr(const nlmsghdr* nlh, F&& f) {
    for_each_attr(nlh, sizeof(genlmsghdr), std::forward<F>(f));
}

TableInfo parse_table(const nlattr* nest) {
    TableInfo t;
    for_each_nested(nest, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case SGNIC_A_TABLE_SIZE_LOG:
                t.size_log = get_u32(a);
                break;
            case SGNIC_A_TABLE_RULES:
                t.rules = get_u32(a);
                break;
            case SGNIC_A_TABLE_PAGES:
                t.pages = get_u64(a);
                break;
            default:
                break;
        }
    });
    return t;
}

Counters parse_counters(const nlattr* nest) {
    Counters c;
    for_each_nested(nest, [&](const nlattr* a) {
        if (mnl_attr_get_type(a) == SGNIC_A_COUNTERS_PACKETS) {
            c.packets = get_u64(a);
        } else if (mnl_attr_get_type(a) == SGNIC_A_COUNTERS_BYTES) {
            c.bytes = get_u64(a);
        }
    });
    return c;
}

}  // namespace

DevInfo parse_dev(const nlmsghdr* nlh) {
    DevInfo d;
    for_each_genl_attr(nlh, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case SGNIC_A_DEV_IFINDEX:
                d.ifindex = get_u32(a);
                break;
            case SGNIC_A_DEV_NAME:
                d.name = get_string(a);
                break;
            case SGNIC_A_DEV_PEER_IFINDEX:
                d.peer_ifindex = get_u32(a);
                break;
            case SGNIC_A_DEV_CAPS:
                for_each_nested(a, [&](const nlattr* c) {
                    switch (mnl_attr_get_type(c)) {
                        case SGNIC_A_CAPS_STE_ALLOC_LOG_MAX:
                            d.caps.ste_alloc_log_max = get_u32(c);
                            break;
                        case SGNIC_A_CAPS_RTC_LOG_DEPTH_MAX:
                            d.caps.rtc_log_depth_max = get_u32(c);
                            break;
                        case SGNIC_A_CAPS_MAX_MATCHERS:
                            d.caps.max_matchers = get_u32(c);
                            break;
                        case SGNIC_A_CAPS_MAX_ACTION_TEMPLATES:
                            d.caps.max_action_templates = get_u32(c);
                            break;
                        case SGNIC_A_CAPS_SUPPORTED_FIELDS:
                            d.caps.supported_fields = get_u32(c);
                            break;
                        default:
                            break;
                    }
                });
                break;
            case SGNIC_A_DEV_RX:
                d.rx = parse_table(a);
                break;
            case SGNIC_A_DEV_TX:
                d.tx = parse_table(a);
                break;
            case SGNIC_A_DEV_MATCHERS:
                d.matchers = get_u32(a);
                break;
            case SGNIC_A_DEV_RULE_LIMIT:
                d.rule_limit = get_u32(a);
                break;
            case SGNIC_A_DEV_RULE_OPS:
                d.rule_ops = get_u64(a);
                break;
            case SGNIC_A_DEV_STEER_GEN:
                d.steer_gen = get_u64(a);
                break;
            default:
                break;
        }
    });
    return d;
}

MatcherInfo parse_matcher(const nlmsghdr* nlh) {
    MatcherInfo m;
    const auto* genl = static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(nlh));
    m.cmd = genl->cmd;
    for_each_genl_attr(nlh, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case SGNIC_A_MATCHER_ID:
                m.id = get_u32(a);
                break;
            case SGNIC_A_MATCHER_IFINDEX:
                m.ifindex = get_u32(a);
                break;
            case SGNIC_A_MATCHER_PRIORITY:
                m.priority = get_u32(a);
                break;
            case SGNIC_A_MATCHER_TEMPLATE: {
                TemplateEntry t;
                for_each_nested(a, [&](const nlattr* e) {
                    if (mnl_attr_get_type(e) == SGNIC_A_TEMPLATE_ENTRY_FIELD) {
                        t.field = get_u32(e);
                    } else if (mnl_attr_get_type(e) == SGNIC_A_TEMPLATE_ENTRY_MASK) {
                        t.mask = get_bytes(e);
                    }
                });
                m.tmpl.push_back(std::move(t));
                break;
            }
            case SGNIC_A_MATCHER_RX_TABLE:
                m.rx = parse_table(a);
                break;
            case SGNIC_A_MATCHER_TX_TABLE:
                m.tx = parse_table(a);
                break;
            case SGNIC_A_MATCHER_RESIZE_TARGET:
                m.resize_target = get_u32(a);
                break;
            case SGNIC_A_MATCHER_RESIZE_SOURCE:
                m.resize_source = get_u32(a);
                break;
            case SGNIC_A_MATCHER_ACTION_TEMPLATES:
                m.action_templates = get_u32(a);
                break;
            case SGNIC_A_MATCHER_COOKIE:
                m.cookie = get_u64(a);
                break;
            case SGNIC_A_MATCHER_OWNER:
                m.owner = get_u32(a);
                break;
            case SGNIC_A_MATCHER_RULES:
                m.rules = get_u32(a);
                break;
            default:
                break;
        }
    });
    return m;
}

// A dump parses a million of these: `r` is reused, its vectors and their
// values keep their memory from one rule to the next.
void parse_rule(const nlmsghdr* nlh, RuleInfo& r) {
    std::vector<MatchEntry> match = std::move(r.match);
    std::vector<Action> actions = std::move(r.actions);
    r = RuleInfo{};  // every other field as a fresh one has it
    r.match = std::move(match);
    r.actions = std::move(actions);
    r.actions.clear();
    std::size_t entries = 0;
    for_each_genl_attr(nlh, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case SGNIC_A_RULE_ID:
                r.id = get_u32(a);
                break;
            case SGNIC_A_RULE_IFINDEX:
                r.ifindex = get_u32(a);
                break;
            case SGNIC_A_RULE_MATCHER_ID:
                r.matcher_id = get_u32(a);
                break;
            case SGNIC_A_RULE_DIRECTION:
                r.direction = get_u32(a);
                break;
            case SGNIC_A_RULE_MATCH: {
                if (entries == r.match.size()) {
                    r.match.emplace_back();
                }
                MatchEntry& e = r.match[entries++];
                e.field = 0;
                e.value.clear();
                for_each_nested(a, [&](const nlattr* x) {
                    if (mnl_attr_get_type(x) == SGNIC_A_MATCH_ENTRY_FIELD) {
                        e.field = get_u32(x);
                    } else if (mnl_attr_get_type(x) == SGNIC_A_MATCH_ENTRY_VALUE) {
                        const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(x));
                        e.value.assign(p, p + mnl_attr_get_payload_len(x));
                    }
                });
                break;
            }
            case SGNIC_A_RULE_ACTION: {
                Action act;
                for_each_nested(a, [&](const nlattr* x) {
                    switch (mnl_attr_get_type(x)) {
                        case SGNIC_A_ACTION_TYPE:
                            act.type = get_u32(x);
                            break;
                        case SGNIC_A_ACTION_MARK:
                            act.mark = get_u32(x);
                            break;
                        case SGNIC_A_ACTION_QUEUE:
                            act.queue = get_u32(x);
                            break;
                        default:
                            break;
                    }
                });
                r.actions.push_back(act);
                break;
            }
            case SGNIC_A_RULE_RX_COUNTERS:
                r.rx = parse_counters(a);
                break;
            case SGNIC_A_RULE_TX_COUNTERS:
                r.tx = parse_counters(a);
                break;
            case SGNIC_A_RULE_COOKIE:
                r.cookie = get_u64(a);
                break;
            case SGNIC_A_RULE_OWNER:
                r.owner = get_u32(a);
                break;
            default:
                break;
        }
    });
    r.match.resize(entries);
}

RuleInfo parse_rule(const nlmsghdr* nlh) {
    RuleInfo r;
    parse_rule(nlh, r);
    return r;
}

BulkReply parse_bulk_reply(const nlmsghdr* nlh) {
    BulkReply b;
    for_each_genl_attr(nlh, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case SGNIC_A_RULES_APPLIED:
                b.applied = get_u32(a);
                break;
            case SGNIC_A_RULES_FAILED:
                b.failed = get_u32(a);
                break;
            case SGNIC_A_RULES_RESULT: {
                RuleResult res;
                for_each_nested(a, [&](const nlattr* x) {
                    switch (mnl_attr_get_type(x)) {
                        case SGNIC_A_RULE_RESULT_INDEX:
                            res.index = get_u32(x);
                            break;
                        case SGNIC_A_RULE_RESULT_ID:
                            res.id = get_u32(x);
                            break;
                        case SGNIC_A_RULE_RESULT_ERRNO:
                            res.err = get_u32(x);
                            break;
                        case SGNIC_A_RULE_RESULT_DIRECTION:
                            res.direction = get_u32(x);
                            break;
                        case SGNIC_A_RULE_RESULT_MSG:
                            res.msg = get_string(x);
                            break;
                        default:
                            break;
                    }
                });
                b.results.push_back(std::move(res));
                break;
            }
            default:
                break;
        }
    });
    return b;
}

PortalInfo parse_portal(const nlmsghdr* nlh) {
    PortalInfo p;
    for_each_genl_attr(nlh, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case SGNIC_A_PORTAL_ID:
                p.id = get_u32(a);
                break;
            case SGNIC_A_PORTAL_CPU:
                p.cpu = get_u32(a);
                break;
            case SGNIC_A_PORTAL_DQRR_SIZE:
                p.dqrr_size = get_u32(a);
                break;
            case SGNIC_A_PORTAL_DQRR_FILL:
                p.dqrr_fill = get_u32(a);
                break;
            case SGNIC_A_PORTAL_ENQUEUED:
                p.enqueued = get_u64(a);
                break;
            case SGNIC_A_PORTAL_ENQUEUE_BUSY:
                p.enqueue_busy = get_u64(a);
                break;
            case SGNIC_A_PORTAL_DEQUEUED:
                p.dequeued = get_u64(a);
                break;
            default:
                break;
        }
    });
    return p;
}

PoolInfo parse_pool(const nlmsghdr* nlh) {
    PoolInfo p;
    for_each_genl_attr(nlh, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case SGNIC_A_POOL_BPID:
                p.bpid = get_u32(a);
                break;
            case SGNIC_A_POOL_IFINDEX:
                p.ifindex = get_u32(a);
                break;
            case SGNIC_A_POOL_BUFFER_SIZE:
                p.buffer_size = get_u32(a);
                break;
            case SGNIC_A_POOL_COUNT:
                p.count = get_u32(a);
                break;
            case SGNIC_A_POOL_REFILL_THRESHOLD:
                p.refill_threshold = get_u32(a);
                break;
            case SGNIC_A_POOL_ACQUIRED:
                p.acquired = get_u64(a);
                break;
            case SGNIC_A_POOL_RELEASED:
                p.released = get_u64(a);
                break;
            case SGNIC_A_POOL_REFILLS:
                p.refills = get_u64(a);
                break;
            case SGNIC_A_POOL_DEPLETED:
                p.depleted = get_u64(a);
                break;
            case SGNIC_A_POOL_PERCPU: {
                std::pair<uint32_t, uint32_t> pc{};
                for_each_nested(a, [&](const nlattr* x) {
                    if (mnl_attr_get_type(x) == SGNIC_A_POOL_PERCPU_CPU) {
                        pc.first = get_u32(x);
                    } else if (mnl_attr_get_type(x) == SGNIC_A_POOL_PERCPU_COUNT) {
                        pc.second = get_u32(x);
                    }
                });
                p.percpu.push_back(pc);
                break;
            }
            default:
                break;
        }
    });
    return p;
}

Ack parse_ack(const nlmsghdr* nlh) {
    Ack ack;
    if (nlh->nlmsg_type != NLMSG_ERROR && nlh->nlmsg_type != NLMSG_DONE) {
        return ack;
    }
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int)) {
        ack.err = EPROTO;
        return ack;
    }
    int error = 0;
    std::memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
    ack.err = -error;
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
        return ack;
    }
    size_t offset = sizeof(int);
    if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) {
            return ack;
        }
        nlmsgerr err{};
        std::memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
        offset =
            (nlh->nlmsg_flags & NLM_F_CAPPED) ? sizeof(nlmsgerr) : sizeof(int) + err.msg.nlmsg_len;
    }
    if (offset > mnl_nlmsg_get_payload_len(nlh)) {
        return ack;
    }
    for_each_attr(nlh, offset, [&](const nlattr* a) {
        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG) {
            ack.msg = get_string(a);
        } else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS && mnl_attr_get_payload_len(a) == 4) {
            ack.bad_offset = mnl_attr_get_u32(a);
        }
    });
    return ack;
}

Message build_get_family(uint32_t seq, const std::string& name) {
    Message req(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK, seq);
    req.put_string(CTRL_ATTR_FAMILY_NAME, name);
    return req;
}

uint32_t FamilyInfo::group(std::string_view group_name) const {
    for (const auto& [name, gid] : groups) {
        if (name == group_name) {
            return gid;
        }
    }
    return 0;
}

FamilyInfo parse_family(const nlmsghdr* nlh) {
    FamilyInfo f;
    for_each_attr(nlh, sizeof(genlmsghdr), [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
            case CTRL_ATTR_FAMILY_ID:
                if (mnl_attr_validate(a, MNL_TYPE_U16) == 0) {
                    f.id = mnl_attr_get_u16(a);
                }
                break;
            case CTRL_ATTR_FAMILY_NAME:
                if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
                    f.name = mnl_attr_get_str(a);
                }
                break;
            case CTRL_ATTR_MCAST_GROUPS:
                for_each_nested(a, [&](const nlattr* grp) {
                    std::string name;
                    uint32_t gid = 0;
                    for_each_nested(grp, [&](const nlattr* g) {
                        if (mnl_attr_get_type(g) == CTRL_ATTR_MCAST_GRP_NAME &&
                            mnl_attr_validate(g, MNL_TYPE_NUL_STRING) == 0) {
                            name = mnl_attr_get_str(g);
                        } else if (mnl_attr_get_type(g) == CTRL_ATTR_MCAST_GRP_ID &&
                                   mnl_attr_validate(g, MNL_TYPE_U32) == 0) {
                            gid = mnl_attr_get_u32(g);
                        }
                    });
                    f.groups.emplace_back(std::move(name), gid);
                });
                break;
            default:
                break;
        }
    });
    return f;
}

}  // namespace sgnic::nl
