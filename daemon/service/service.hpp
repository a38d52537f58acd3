// The Manager of sgnicd (systemd-networkd's shape): owns the desired state,
// the policy core, the store and the port list; every D-Bus call and every
// reconcile goes through it.  No D-Bus here: bus/ translates, and tells the
// service who is asking.
//
// Order of a change: validate everything, apply to the device through the
// policy, write the store (one transaction), then answer.  If the store
// write fails, the device change is undone and the call fails.  A large
// batch's rows are written on a thread while the device takes its rules;
// the transaction still commits only after the device has them all.  A bulk
// load goes further (begin_add_rules): a batch's rows are written and
// committed while the next batch is checked and inserted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/desired.hpp"
#include "policy/policy.hpp"
#include "service/kernel.hpp"
#include "service/matcher_index.hpp"
#include "service/store_writer.hpp"
#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/limits.hpp"
#include "sgnic/proto/load.hpp"
#include "sgnic/proto/result.hpp"
#include "store/store.hpp"

namespace sgnic::service {

inline constexpr std::size_t kMaxBatch = proto::kMaxRulesPerCall;  // rules per call
// From this many rules in a batch, the store writes its rows on a thread
// while the device takes the rules: below it a thread costs more than it
// saves.
inline constexpr std::size_t kStoreThreadBatch = 256;
// A load's batch goes to the policy in runs of at most this many rules: the
// device's thread sends the first run while this one counts and encodes the
// next, instead of waiting for the whole batch.
inline constexpr std::size_t kInsertRun = 1024;
// Rules in one DescribeRules page, whatever the caller asks: a page reads
// the counters of its rules from the kernel and writes their texts while
// every other client waits (4096 rules held a call 1.1 s in a loaded guest).
inline constexpr std::size_t kDescribePage = 1024;

// A rule of AddRules or of a LoadRules record (proto/load.hpp).
using RuleRequest = proto::RuleRequest;

// Told about changes so it can emit signals.  Called after the store write.
class ServiceListener {
public:
    ServiceListener() = default;
    ServiceListener(const ServiceListener&) = delete;
    ServiceListener& operator=(const ServiceListener&) = delete;
    ServiceListener(ServiceListener&&) = delete;
    ServiceListener& operator=(ServiceListener&&) = delete;
    virtual ~ServiceListener() = default;

    virtual void matcher_changed(model::MatcherKey matcher) = 0;
    // A matcher object appeared (after the store write) or is about to go.
    virtual void matcher_added(model::MatcherKey matcher) = 0;
    virtual void matcher_removed(model::MatcherKey matcher) = 0;
    virtual void port_changed(const std::string& port) = 0;
    virtual void rehashed(model::MatcherKey matcher, const policy::RehashReport& report) = 0;
};

struct ReconcileReport {
    // Adoption (a start, or after the policy's picture went stale) takes
    // over what the kernel holds; a later reconcile only fills gaps.
    bool adoption = false;
    bool sealed = false;  // from the seal of a clean stop: no rule was read
    std::size_t adopted_matchers = 0;
    std::size_t adopted_rules = 0;
    std::size_t settled_resizes = 0;  // half done by an earlier run, now finished
    std::size_t replaced_rules = 0;   // changed in the kernel: put back as stored
    std::size_t deleted_rules = 0;
    std::size_t deleted_matchers = 0;
    std::size_t added_matchers = 0;
    std::size_t added_rules = 0;
    std::size_t foreign_matchers = 0;  // another owner's, left alone
    std::size_t foreign_rules = 0;
    std::size_t waiting = 0;
    std::size_t failed = 0;
    bool policy_reset = false;
};

// The owner tag sgnicd puts on what it creates (proto/sgnic.yaml owner-sgnicd).
inline constexpr std::uint8_t kOwner = 1;

class Service {
public:
    Service(policy::Device& device, PortSource& ports, KernelState& kernel,
            std::optional<store::Store> store, model::DesiredState desired,
            policy::PolicyConfig config);

    void set_listener(ServiceListener* listener) { listener_ = listener; }
    // The device can take a bulk load's inserts on a thread of its own
    // (begin_add_rules uses it); none: they go as add_rules sends them.
    void set_deferred_inserts(DeferredInserts* deferred) { deferred_ = deferred; }
    // Also delete other owners' matchers and rules (config manage-foreign).
    void set_manage_foreign(bool manage) { manage_foreign_ = manage; }
    // The store could not be read: serve reads, refuse every change with
    // `why`, and leave the kernel alone (no adoption, no reconcile).
    void set_read_only(std::string why) { read_only_ = std::move(why); }
    const std::optional<std::string>& read_only() const { return read_only_; }

    // Refreshes the ports, dumps the kernel and applies the delta.  The
    // first one adopts what the kernel holds: from the seal when one was
    // given and still describes the kernel (no rule is read), else from a
    // dump of every rule.
    Expected<ReconcileReport> reconcile();

    // What the last clean stop sealed (store::read_seal); used, if it still
    // holds, by the first reconcile only.
    void set_seal(model::Seal seal) { seal_ = std::move(seal); }
    // A seal of what the kernel holds now, for the next start (a clean
    // stop); Errc::busy, naming why, while the policy's picture is not
    // exactly the kernel's (not adopted yet, read-only, a resize in
    // progress, rules a failed call left, a matcher holding other rules).
    Expected<model::Seal> seal();

    Expected<model::MatcherKey> create_matcher(const std::string& port, std::uint32_t priority,
                                               std::span<const proto::FieldText> fields,
                                               std::uint32_t uid);
    Expected<void> delete_matcher(model::MatcherKey matcher);
    Expected<std::vector<model::RuleKey>> add_rules(const std::string& port,
                                                    std::span<const RuleRequest> rules,
                                                    std::uint32_t uid);
    // add_rules() in two halves, for a bulk load whose store work overlaps
    // its device work.  begin_add_rules checks the batch and puts it in the
    // device as add_rules does, waits for the commit in flight (the batch
    // before), then hands the batch's rows to a thread that writes and
    // commits them while the caller reads and checks its next batch.  The
    // rules are added, and survive kill -9, only once collect_add_rules()
    // returns their keys; a commit that fails takes them out of the device
    // again.  `after` is the caller's batch before (0: none): when that one
    // was not stored, this one is refused too, so batches land in order.
    // Every other change lands the commit in flight first.  `meanwhile`
    // runs while the device inserts the batch (the caller reads its next
    // batch); it must not call the service.
    using Ticket = std::uint64_t;
    Expected<Ticket> begin_add_rules(const std::string& port, std::span<const RuleRequest> rules,
                                     std::uint32_t uid, Ticket after = 0,
                                     const std::function<void()>& meanwhile = {});
    // The same for rules parsed already (a load's read-ahead thread parses
    // them against the templates of matcher_index()): their matcher must
    // still be on `port` and in the device; nothing is parsed again.
    Expected<Ticket> begin_add_rules(const std::string& port,
                                     std::span<const model::DesiredRule> rules, std::uint32_t uid,
                                     Ticket after, const std::function<void()>& meanwhile);
    Expected<std::vector<model::RuleKey>> collect_add_rules(Ticket ticket);
    // Every matcher's port and template, for threads that parse rules.
    std::shared_ptr<const MatcherIndex> matcher_index() const { return matcher_index_; }
    // Grows the matcher's tables once so that `rx` and `tx` more rules fit
    // without a rehash (a bulk load announcing its size); true if it resized.
    Expected<bool> reserve_rules(model::MatcherKey matcher, std::uint64_t rx, std::uint64_t tx);
    // Makes room in the rule tables for about `rules` more, so that a bulk
    // load grows each once instead of doubling (and copying) it repeatedly.
    void expect_rules(std::uint64_t rules);
    Expected<void> delete_rules(const std::string& port, std::span<const model::RuleKey> rules);
    Expected<void> flush(const std::string& port);
    // One step of a rehash in progress (matchers take turns); a rehash that
    // ends is published, one that fails is turned around and logged.
    // Returns whether a rehash is still in progress.
    bool resize_step();
    bool resizing() const { return policy_ && policy_->resize_in_progress(); }
    // Ends every rehash in progress (at a stop, and before the kernel is
    // compared with the policy's picture).
    void finish_resizes();
    // Every rule of the port, or of every port for "", in bulk; the matchers
    // stay.  Returns how many rules were deleted.
    Expected<std::size_t> flush_rules(const std::string& port);
    // Rules by id alone, on any ports: every id is checked before any is
    // deleted, so an unknown id changes nothing.
    Expected<void> delete_rules_by_id(std::span<const model::RuleKey> rules);

    const std::vector<PortInfo>& ports() const { return ports_; }
    const PortInfo* find_port(const std::string& name) const;
    const model::DesiredState& desired() const { return desired_; }
    // nullptr while the matcher waits for its port or failed to install.
    const policy::MatcherState* matcher_state(model::MatcherKey matcher) const;
    std::vector<model::MatcherKey> matchers_of(const std::string& port) const;

    std::string describe() const;
    std::string describe_port(const std::string& port) const;
    std::string describe_matcher(model::MatcherKey matcher) const;
    // The rules of a port and/or a matcher ("" and 0: all) with the device's
    // hit counters; a rule whose counters cannot be read has "counters": null.
    // One page: ids above `after`, at most `limit` (0: no limit but the
    // page's) and at most kDescribePage of them; "next" is the id to pass as
    // `after` for the following page, or null.
    Expected<std::string> describe_rules(const std::string& port, model::MatcherKey matcher,
                                         model::RuleKey after = 0, std::size_t limit = 0);
    // Totals per port and overall, hit counters summed.
    std::string stats();

private:
    // Takes over what the kernel holds and applies only the difference.
    Expected<ReconcileReport> adopt(model::ActualState actual,
                                    const std::map<std::string, policy::PortId>& ports);
    // The same from the seal, if it holds; nullopt (and the seal is gone)
    // when the rules must be read.
    std::optional<Expected<ReconcileReport>> adopt_sealed();
    // Applies an adoption plan to a fresh policy and the kernel.
    void apply_adoption(model::Adoption& plan, ReconcileReport& report);
    // Takes the adoption's matchers and rules into a fresh policy; a
    // matcher the policy refuses goes to the plan's deletes and adds.
    void take_over(model::Adoption& plan, ReconcileReport& report);
    // Kernel objects nobody wants any more; failures are counted and logged.
    // Returns how many rules went (including rules already gone).
    std::size_t remove_from_kernel(std::span<const model::ActualRule> rules,
                                   ReconcileReport& report);
    void remove_from_kernel(std::span<const model::ActualMatcher> matchers,
                            ReconcileReport& report);
    void install_matchers(std::span<const model::MatcherKey> keys, ReconcileReport& report);
    Expected<void> install_matcher(const model::DesiredMatcher& m);
    // Returns how many went in; failures are counted in the report and logged.
    std::size_t install_rules(std::span<const model::RuleKey> keys, ReconcileReport& report);
    Expected<policy::RuleSpec> rule_spec(const model::DesiredMatcher& m,
                                         const model::DesiredRule& r) const;
    Expected<void> remove_rules(std::span<const model::RuleKey> rules);
    // Deletes rules already checked to be the port's: the store first, then
    // the device; listeners hear of every matcher touched.
    Expected<void> erase_rules(const std::string& port, std::span<const model::RuleKey> rules);
    model::Installed installed() const;
    // Hands rules a failed call could not take out to release_unowned().
    void disown(std::span<const policy::RuleId> ids, const std::string& context);
    // Deletes (through the policy) the rules no desired rule owns; those the
    // device still refuses stay for the next try.
    void release_unowned();
    void reset_policy();
    void publish_rehashes();
    // The device's counters of the rules of `matcher` whose policy rule ids
    // are in `ids` (every rule by default), by policy rule id.
    Expected<std::map<policy::RuleId, RuleCounters>> counters_of(model::MatcherKey matcher,
                                                                 RuleIdRange ids = {});

    policy::Device& device_;
    PortSource& port_source_;
    KernelState& kernel_;
    std::optional<store::Store> store_;
    model::DesiredState desired_;
    policy::PolicyConfig config_;
    std::optional<policy::Policy> policy_;
    std::vector<PortInfo> ports_;
    std::map<model::MatcherKey, policy::MatcherId> matcher_ids_;
    std::map<policy::MatcherId, model::MatcherKey> matcher_keys_;
    policy::IdTable<model::RuleBinding> rule_ids_;
    // desired_.matchers' ports and templates, for other threads.
    std::shared_ptr<MatcherIndex> matcher_index_ = std::make_shared<MatcherIndex>();
    // Policy rules no desired rule owns: a failed call inserted them and the
    // device refused their undo.  Deleted by the next begin_change() or
    // reconcile;
    // until then the kernel's copy is the policy's, not a stray to delete.
    std::set<policy::RuleId> unowned_;
    ServiceListener* listener_ = nullptr;
    DeferredInserts* deferred_ = nullptr;
    policy::MatcherId last_stepped_ = 0;  // resize_step()'s turn
    bool adopted_ = false;                // the policy knows what the kernel holds
    bool manage_foreign_ = false;
    std::optional<std::string> read_only_;
    std::optional<model::Seal> seal_;  // until the first reconcile
    // Every change starts here: the commit in flight lands (the store is
    // this thread's again and the desired state whole); refused when sgnicd
    // is read-only; otherwise the rules a failed call left behind (unowned_)
    // go first.
    Expected<void> begin_change();
    // The same while the commit in flight runs on (begin_add_rules).
    Expected<void> begin_change_overlapping();

    // A batch of add_rules, checked: its rows.  A batch of rules parsed
    // already (a load's) copies them into its rows run by run as they go
    // to the device (insert_batch), so that the device's thread starts on
    // the first run, not after the whole batch's copy: its rows are then a
    // prefix of `source`.
    struct Batch {
        std::vector<model::DesiredRule> records;
        std::span<const model::DesiredRule> source;
        std::uint32_t uid = 0;
        model::RuleKey next = 0;  // desired_.next_rule after it
        std::size_t size() const { return source.empty() ? records.size() : source.size(); }
    };
    Expected<Batch> prepare_batch(const std::string& port, std::span<const RuleRequest> rules,
                                  std::uint32_t uid);
    Expected<Batch> prepare_batch(const std::string& port,
                                  std::span<const model::DesiredRule> rules, std::uint32_t uid);
    // An empty batch for `rules` rules to the port, after the checks every
    // batch starts with (the port, the batch's size).
    Expected<Batch> start_batch(const std::string& port, std::size_t rules);
    // Rule i's matcher is on `port` and in the device: its state.
    Expected<const policy::MatcherState*> batch_matcher(const std::string& port,
                                                        model::MatcherKey matcher,
                                                        std::size_t i) const;
    // A checked rule into the batch, with its key and owner.
    static void add_to_batch(Batch& batch, model::DesiredRule rule, std::uint32_t uid);
    // Rule i of the batch, its row copied from the source first if need be.
    static const model::DesiredRule& batch_row(Batch& batch, std::size_t i);
    // Rule i of the batch, copied or not.
    static const model::DesiredRule& peek_row(const Batch& batch, std::size_t i);
    // The rules of one matcher from `start` on, when more than `run`: the
    // matcher is grown once for them all, as one bulk insert grows it, not
    // once per run.
    void grow_for_rules(const Batch& batch, std::size_t start, std::size_t run);
    // The device's specs of a run of rows, in spec_scratch_, whose lists
    // keep their memory from run to run: a bulk load allocates none per rule.
    std::span<const policy::RuleSpec> specs_of(std::span<const model::DesiredRule> rows);
    // The memory of this many rules' specs and rows (~3.5 MB) is kept from a
    // batch to the next; a larger batch (AddRules) gives back the rest.
    static constexpr std::size_t kKeptRules = 16384;
    void trim_specs();
    std::vector<policy::RuleSpec> spec_scratch_;
    // A batch landed: its rows' list (emptied) for the next batch.
    void keep_rows(std::vector<model::DesiredRule>&& rows);
    std::vector<model::DesiredRule> spare_rows_;
    // The same from begin_add_rules of either kind.
    Expected<Ticket> begin_add_batch(const std::string& port, Expected<Batch> batch, Ticket after,
                                     const std::function<void()>& meanwhile);
    // Into the device, a bulk insert per run of one matcher (of at most
    // `run` rules); on a failure the batch's rules come out again.
    Expected<std::vector<model::RuleKey>> insert_batch(const std::string& port, Batch& batch,
                                                       std::size_t run = kMaxBatch);
    // insert_batch() in runs of kInsertRun, the device's inserts sent on its
    // thread while this one encodes the next run, lands the commit in flight
    // (land_in_flight) and runs `meanwhile`.
    // A rule the device refused takes the batch out again and sends it as
    // insert_batch() does, which names the rule and cures a collision.
    Expected<std::vector<model::RuleKey>> insert_batch_deferred(
        const std::string& port, Batch& batch, const std::function<void()>& meanwhile);
    // Takes inserted rules out again; what the device keeps is disowned.
    void undo_batch(const std::string& port, std::span<const model::RuleKey> keys,
                    std::vector<policy::RuleId> kept);
    // A stored batch into the desired state; listeners hear of it.
    void keep_batch(const std::string& port, Batch& batch);
    // Waits for the commit in flight and settles its batch into landed_.
    void land_in_flight();
    struct InFlight {
        Ticket ticket = 0;
        std::string port;
        Batch batch;  // its rows, which the store thread reads
        std::vector<model::RuleKey> keys;
        std::future<Status> stored;
    };
    Ticket next_ticket_ = 1;
    // At most one: the store takes one transaction at a time.
    std::optional<InFlight> in_flight_;
    // Batches settled whose caller has not collected them yet.
    std::map<Ticket, Expected<std::vector<model::RuleKey>>> landed_;
    // The thread that writes and commits the batch in flight.  Declared
    // after in_flight_ and store_: it finishes that write before either goes.
    StoreWriter store_writer_;
};

}  // namespace sgnic::service
