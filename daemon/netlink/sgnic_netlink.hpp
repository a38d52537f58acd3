// The sgnic generic netlink family (proto/sgnic.yaml) from user space: message
// builders and parsers that need no kernel, and a client over a libmnl socket.
// The daemon's device adapter and the test tool tests/tools/sgnic-nl use it.
#pragma once

#include <libmnl/libmnl.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sgnic::nl {

// Attribute walks (libmnl's iteration macros do not compile as C++).
template <class F>
void for_each_attr(const nlmsghdr* nlh, size_t offset, F&& f) {
    const auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
    const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    while (mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a)))) {
        f(a);
        a = mnl_attr_next(a);
    }
}

template <class F>
void for_each_nested(const nlattr* nest, F&& f) {
    const auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
    const auto* tail = reinterpret_cast<const char*>(nest) + mnl_attr_get_len(nest);
    while (mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a)))) {
        f(a);
        a = mnl_attr_next(a);
    }
}

using Bytes = std::vector<uint8_t>;

// ---- errors ----

// A failed request: the errno and the kernel's extack message, if any.
class Error : public std::runtime_error {
public:
    Error(int err, std::string extack, const std::string& what);
    int err() const { return err_; }
    const std::string& extack() const { return extack_; }

private:
    int err_;
    std::string extack_;
};

// Field and action ids are the uAPI's; their names and text forms are the
// C++ binding's (sgnic/proto/fields.hpp, codec.hpp).

struct TemplateEntry {
    uint32_t field = 0;
    Bytes mask;
};

struct MatchEntry {
    uint32_t field = 0;
    Bytes value;
};

struct Action {
    uint32_t type = 0;
    std::optional<uint32_t> mark;
    std::optional<uint32_t> queue;
};

struct Counters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

struct TableInfo {
    std::optional<uint32_t> size_log;
    uint32_t rules = 0;
    uint64_t pages = 0;
};

struct Caps {
    uint32_t ste_alloc_log_max = 0;
    uint32_t rtc_log_depth_max = 0;
    uint32_t max_matchers = 0;
    uint32_t max_action_templates = 0;
    uint32_t supported_fields = 0;
};

struct DevInfo {
    uint32_t ifindex = 0;
    std::string name;
    uint32_t peer_ifindex = 0;
    Caps caps;
    TableInfo rx;
    TableInfo tx;
    uint32_t matchers = 0;
    uint32_t rule_limit = 0;
    uint64_t rule_ops = 0;  // rules inserted, deleted and moved since load
    // Changes with every change of the port's steering objects; equal values
    // read at two times mean nothing changed in between (proto/sgnic.yaml).
    uint64_t steer_gen = 0;
};

struct MatcherSpec {
    uint32_t ifindex = 0;
    uint32_t id = 0;  // 0: the kernel picks
    uint32_t priority = 0;
    std::vector<TemplateEntry> tmpl;
    uint32_t rx_size_log = 0;
    uint32_t tx_size_log = 0;
    uint64_t cookie = 0;  // 0 and owner 0 are left out of the request
    uint32_t owner = 0;
};

struct MatcherInfo {
    uint32_t cmd = 0;  // the message's command (get, or a notification)
    uint32_t id = 0;
    uint32_t ifindex = 0;
    uint32_t priority = 0;
    std::vector<TemplateEntry> tmpl;
    TableInfo rx;
    TableInfo tx;
    uint32_t resize_target = 0;
    uint32_t resize_source = 0;
    uint32_t action_templates = 0;
    uint64_t cookie = 0;
    uint32_t owner = 0;
    uint32_t rules = 0;  // each once: a rule of both directions is in both tables
};

struct RuleSpec {
    uint32_t id = 0;
    uint32_t direction = 0;  // SGNIC_DIRECTION_* mask
    uint64_t cookie = 0;     // 0 and owner 0 are left out of the request
    uint32_t owner = 0;
    std::vector<MatchEntry> match;
    std::vector<Action> actions;
};

struct RuleInfo {
    uint32_t id = 0;
    uint32_t ifindex = 0;
    uint32_t matcher_id = 0;
    uint32_t direction = 0;
    std::vector<MatchEntry> match;
    std::vector<Action> actions;
    std::optional<Counters> rx;  // only a rule with `count`, per direction it has
    std::optional<Counters> tx;
    uint64_t cookie = 0;
    uint32_t owner = 0;
};

struct RuleResult {
    uint32_t index = 0;
    uint32_t id = 0;
    uint32_t err = 0;
    uint32_t direction = 0;
    std::string msg;
};

struct BulkReply {
    uint32_t applied = 0;
    uint32_t failed = 0;
    std::vector<RuleResult> results;
};

struct PortalInfo {
    uint32_t id = 0;
    uint32_t cpu = 0;
    uint32_t dqrr_size = 0;
    uint32_t dqrr_fill = 0;
    uint64_t enqueued = 0;
    uint64_t enqueue_busy = 0;
    uint64_t dequeued = 0;
};

struct PoolInfo {
    uint32_t bpid = 0;
    uint32_t ifindex = 0;
    uint32_t buffer_size = 0;
    uint32_t count = 0;
    uint32_t refill_threshold = 0;
    uint64_t acquired = 0;
    uint64_t released = 0;
    uint64_t refills = 0;
    uint64_t depleted = 0;
    std::vector<std::pair<uint32_t, uint32_t>> percpu;  // cpu, count
};

// ---- messages ----

// One netlink message under construction, in its own aligned buffer.
class Message {
public:
    Message(uint16_t family, uint8_t cmd, uint16_t flags, uint32_t seq, size_t capacity = 4096);
    void put_u32(uint16_t type, uint32_t v);
    void put_u64(uint16_t type, uint64_t v);
    void put_bytes(uint16_t type, const void* data, size_t len);
    void put_string(uint16_t type, const std::string& s);
    // Returns the nest's offset for end_nest.
    size_t start_nest(uint16_t type);
    void end_nest(size_t offset);
    // Drops everything from `offset` (a nest start) on.
    void truncate(size_t offset);
    // `len` more bytes at the end, counted in the message, for a writer
    // that knows its size up front (put_rule): valid until the next put.
    uint8_t* append(size_t len);
    size_t size() const;
    const nlmsghdr* header() const;
    nlmsghdr* header();
    const uint8_t* data() const { return buf_.data(); }

private:
    // The buffer holds at least `bytes` (doubling: amortised).
    void grow_to(size_t bytes);
    // Room for one attribute of an `n`-byte payload.
    void reserve_more(size_t n);
    // Bytes left as they are when the buffer is made or grown: every byte
    // up to the message's length is written before it is sent (an
    // attribute's room is zeroed before libmnl puts it, put_rule() zeroes
    // its padding), and zeroing 64 KiB per bulk request was a tenth of
    // sgnicd's thread in a load.
    template <typename T>
    struct Uninitialized : std::allocator<T> {
        template <typename U>
        struct rebind {
            using other = Uninitialized<U>;
        };
        template <typename U>
        void construct(U* p) noexcept {
            ::new (static_cast<void*>(p)) U;
        }
        template <typename U, typename... Args>
        void construct(U* p, Args&&... args) {
            ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
        }
    };
    std::vector<uint8_t, Uninitialized<uint8_t>> buf_;
};

// Builders: every request of the family.  `family` is the resolved id.
Message build_dev_get(uint16_t family, uint32_t seq, uint32_t ifindex);  // 0: dump
Message build_portal_dump(uint16_t family, uint32_t seq);
Message build_pool_dump(uint16_t family, uint32_t seq, uint32_t ifindex);  // 0: all
Message build_matcher_new(uint16_t family, uint32_t seq, const MatcherSpec& spec);
Message build_matcher_del(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t id);
Message build_matcher_get(uint16_t family, uint32_t seq, uint32_t ifindex,
                          uint32_t id);  // id 0: dump (ifindex 0: all ports)
Message build_matcher_resize(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t id,
                             uint32_t target);
void put_rule(Message& msg, const RuleSpec& rule);
// rule-new: the rules in one message.
Message build_rule_new(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t matcher_id,
                       uint32_t flags, std::span<const RuleSpec> rules);
// rule-new of as many of `rules`, from the front, as one message of at most
// max_bytes holds (at least one), and how many that is.
std::pair<Message, size_t> build_rule_new_upto(uint16_t family, uint32_t seq, uint32_t ifindex,
                                               uint32_t matcher_id, uint32_t flags,
                                               std::span<const RuleSpec> rules, size_t max_bytes);
// rule-del / rule-move: ids only.  matcher_id 0 leaves it out (rule-del).
Message build_rule_ids(uint16_t family, uint32_t seq, uint8_t cmd, uint32_t ifindex,
                       uint32_t matcher_id, uint32_t flags, std::span<const uint32_t> ids);
Message build_rule_get(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t id);
// Rule ids [first, last] of a dump; 0 leaves that end open.
struct IdRange {
    uint32_t first = 0;
    uint32_t last = 0;
};
Message build_rule_dump(uint16_t family, uint32_t seq, uint32_t ifindex, uint32_t matcher_id,
                        IdRange range = {});

// Parsers of the family's replies (the genetlink header included).
DevInfo parse_dev(const nlmsghdr* nlh);
MatcherInfo parse_matcher(const nlmsghdr* nlh);
RuleInfo parse_rule(const nlmsghdr* nlh);
void parse_rule(const nlmsghdr* nlh, RuleInfo& into);  // reuses `into`'s memory
BulkReply parse_bulk_reply(const nlmsghdr* nlh);
PortalInfo parse_portal(const nlmsghdr* nlh);
PoolInfo parse_pool(const nlmsghdr* nlh);

// An NLMSG_ERROR message: errno (positive, 0 for an ack) and extack text.
struct Ack {
    int err = 0;
    std::string msg;
    uint32_t bad_offset = 0;
};
Ack parse_ack(const nlmsghdr* nlh);

// nlctrl: asking for a family by name, and what it answers (or announces
// in its notify group): the family's id, name and multicast groups.
Message build_get_family(uint32_t seq, const std::string& name);
struct FamilyInfo {
    uint16_t id = 0;
    std::string name;
    std::vector<std::pair<std::string, uint32_t>> groups;  // name, id

    // The id of the group of that name, 0 if there is none.
    uint32_t group(std::string_view group_name) const;
};
FamilyInfo parse_family(const nlmsghdr* nlh);

// ---- the socket ----

// A generic netlink socket with extended acks, the sgnic family resolved.
class Socket {
public:
    Socket();
    ~Socket();
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    Socket(Socket&&) = delete;
    Socket& operator=(Socket&&) = delete;

    uint16_t family() const { return family_; }
    uint32_t events_group() const { return events_group_; }
    uint32_t next_seq() { return ++seq_; }

    // Sends a request; each reply message goes to `on_msg` (if any).  Returns
    // once the request is answered (ack or dump done); throws Error on a
    // netlink error, and Error(EINTR) for a dump that a change interrupted
    // (NLM_F_DUMP_INTR): its messages are not a consistent picture.
    void transact(const Message& req, const std::function<void(const nlmsghdr*)>& on_msg);
    // Sends raw bytes and reads the answer, returning the errno (0 if ok):
    // for fuzzing.
    int transact_raw(const uint8_t* data, size_t len);
    void join_events();
    // Waits for one multicast message and hands it over; false on timeout.
    bool recv_event(int timeout_ms, const std::function<void(const nlmsghdr*)>& on_msg);

private:
    void send(const void* data, size_t len);
    uint16_t resolve();

    mnl_socket* sock_ = nullptr;
    uint32_t portid_ = 0;
    uint32_t seq_ = 0;
    uint16_t family_ = 0;
    uint32_t events_group_ = 0;
    std::vector<uint8_t> rxbuf_;
};

// ---- the client: one call per operation ----

class Client {
public:
    Client() = default;

    std::vector<DevInfo> devs();
    DevInfo dev(uint32_t ifindex);
    std::vector<PortalInfo> portals();
    std::vector<PoolInfo> pools(uint32_t ifindex);
    MatcherInfo matcher_new(const MatcherSpec& spec);
    void matcher_del(uint32_t ifindex, uint32_t id);
    MatcherInfo matcher_get(uint32_t ifindex, uint32_t id);
    std::vector<MatcherInfo> matchers(uint32_t ifindex);
    void matcher_resize(uint32_t ifindex, uint32_t id, uint32_t target);
    // Bulk operations, batched into messages of at most max_bytes.  Without
    // the continue flag, each message is a unit: the first failure throws.
    BulkReply rules_new(uint32_t ifindex, uint32_t matcher_id, std::span<const RuleSpec> rules,
                        uint32_t flags = 0, size_t max_bytes = kDefaultBatchBytes);
    BulkReply rules_del(uint32_t ifindex, uint32_t matcher_id, std::span<const uint32_t> ids,
                        uint32_t flags = 0, size_t max_bytes = kDefaultBatchBytes);
    BulkReply rules_move(uint32_t ifindex, uint32_t matcher_id, std::span<const uint32_t> ids,
                         uint32_t flags = 0, size_t max_bytes = kDefaultBatchBytes);
    RuleInfo rule_get(uint32_t ifindex, uint32_t id);
    // Dump; each rule goes to on_rule (a million rules need not be held).
    void rules_dump(uint32_t ifindex, uint32_t matcher_id,
                    const std::function<void(const RuleInfo&)>& on_rule, IdRange range = {});

    Socket& socket() { return sock_; }

    static constexpr size_t kDefaultBatchBytes = size_t{64} * 1024;

private:
    BulkReply rules_ids(uint8_t cmd, uint32_t ifindex, uint32_t matcher_id,
                        std::span<const uint32_t> ids, uint32_t flags, size_t max_bytes);
    Socket sock_;
};

}  // namespace sgnic::nl
