// sgnicctl's command line: `sgnicctl [options] OBJECT VERB [ARGS]` parsed into
// a Command value, with every argument checked by the daemon's own text
// parsers (model/parse.hpp) so that a bad word is refused before anything is
// sent.  Pure: no I/O, no D-Bus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/limits.hpp"

namespace sgnic::cli {

inline constexpr std::size_t kDefaultChunk = proto::kDefaultLoadChunk;
inline constexpr std::size_t kMaxChunk = proto::kMaxRulesPerCall;

struct Options {
    bool json = false;
    bool pretty = false;  // implies json
};

// What went wrong, naming the word at fault, and what to try instead.
struct UsageError {
    std::string message;
    std::string hint;
    friend bool operator==(const UsageError&, const UsageError&) = default;
};

// A rule as `rule add` and the text form of `rule load` write it.
struct RuleText {
    std::optional<std::string> port;  // else the matcher's port
    std::uint64_t matcher = 0;
    std::string directions = "both";
    std::vector<proto::FieldText> match;
    std::vector<std::string> actions;  // canonical ("mark 5")
    friend bool operator==(const RuleText&, const RuleText&) = default;
};

struct Help {
    std::string text;
};
struct PortList {};
struct PortShow {
    std::string port;
};
struct MatcherCreate {
    std::string port;
    std::uint32_t priority = 0;
    std::vector<proto::FieldText> fields;  // field, mask text
};
struct MatcherList {
    std::optional<std::string> port;
};
struct MatcherShow {
    std::uint64_t id = 0;
};
struct MatcherDelete {
    std::uint64_t id = 0;
};
struct RuleAdd {
    RuleText rule;
};
struct RuleDelete {
    std::vector<std::uint64_t> ids;
};
struct RuleList {
    std::optional<std::string> port;
    std::uint64_t matcher = 0;  // 0: every matcher
};
struct RuleFlush {
    std::optional<std::string> port;
};
struct RuleLoad {
    std::string file;
    std::size_t chunk = kDefaultChunk;
};
struct Monitor {};
struct Stats {};
struct Version {};

using Command =
    std::variant<Help, PortList, PortShow, MatcherCreate, MatcherList, MatcherShow, MatcherDelete,
                 RuleAdd, RuleDelete, RuleList, RuleFlush, RuleLoad, Monitor, Stats, Version>;

struct Invocation {
    Options options;
    Command command;
};

// argv without argv[0].
std::variant<Invocation, UsageError> parse_command_line(std::span<const std::string> args);

// The words of one rule (after `rule add`, or one line of a rule file).
std::variant<RuleText, UsageError> parse_rule_words(std::span<const std::string> words);

// A netdev name the kernel would accept (dev_valid_name()).
using proto::valid_port_name;

// Splits on blanks; `#` starts a comment.
std::vector<std::string> split_words(std::string_view line);
// The same into `out`, whose strings keep their memory from one line to the
// next (a rule file of a million lines).
void split_words(std::string_view line, std::vector<std::string>& out);

// The help text of the whole tool, or of one object.
std::string help_text(std::string_view object = {});

}  // namespace sgnic::cli
