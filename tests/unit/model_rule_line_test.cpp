// The quick rule-line parse (a load's read-ahead thread) against the full
// one (proto::load::parse_rule_line, then model::parse_rule): on every line
// the quick parse takes, the full parse takes it too and gives the same
// rule; every line of the usual bulk shape is taken.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "model/desired.hpp"
#include "model/rule_line.hpp"
#include "sgnic/proto/load.hpp"

namespace sgnic::model {
namespace {

proto::MatchTemplate tmpl(const std::vector<proto::FieldText>& fields) {
    auto t = proto::parse_template(fields);
    EXPECT_TRUE(t) << t.error().message();
    return t->match;
}

const std::array kTemplates = {
    tmpl({{"ipv4-dst", "/32"}}),
    tmpl({{"ipv4-src", "/24"}, {"l4-dport", "0xffff"}, {"ip-proto", "0xff"}}),
    tmpl({{"dmac", "ff:ff:ff:ff:ff:ff"}, {"ipv6-dst", "/64"}, {"vlan-id", "0xfff"}}),
    tmpl({{"ethertype", "0xffff"}, {"l4-sport", "0xff00"}}),
};

// What the full parse makes of `line` under `t`, if it takes it.
std::optional<std::pair<proto::load::RuleLine, DesiredRule>> full_parse(
    std::string_view line, const proto::MatchTemplate& t) {
    proto::load::RuleLine words;
    auto held = proto::load::parse_rule_line(line, words);
    if (!held || !*held) {
        return std::nullopt;
    }
    auto rule = parse_rule(t, words.rule);
    if (!rule) {
        return std::nullopt;
    }
    return std::pair{std::move(words), std::move(*rule)};
}

// Takes `line` quickly under `t` into `out`; checks the full parse agrees.
bool quick_agrees(QuickRuleLine& quick, const std::string& line, const proto::MatchTemplate& t,
                  bool& taken) {
    DesiredRule rule;
    taken = quick.scan(line) && quick.parse(QuickTemplate(t), rule);
    if (!taken) {
        return true;  // the full parse decides: nothing to compare
    }
    const auto full = full_parse(line, t);
    if (!full) {
        ADD_FAILURE() << "taken quickly, refused by the full parse: '" << line << "'";
        return false;
    }
    EXPECT_EQ(quick.matcher(), full->first.rule.matcher) << line;
    EXPECT_EQ(quick.port(), full->first.port) << line;
    EXPECT_EQ(rule, full->second) << line;
    return quick.matcher() == full->first.rule.matcher && quick.port() == full->first.port &&
           rule == full->second;
}

TEST(QuickRuleLine, takes_every_line_of_the_bulk_shape_as_the_full_parse_does) {
    QuickRuleLine quick;
    const std::vector<std::pair<std::string, std::size_t>> lines = {
        {"matcher 3 dir rx ipv4-dst 11.0.0.1 action count", 0},
        {"matcher 3 ipv4-dst 0.0.0.0 action drop", 0},
        {"dev sgnic1 matcher 7 dir both ipv4-dst 255.255.255.255 action count drop", 0},
        {"matcher 3 dir tx ipv4-dst 10.1.2.3 action count action accept", 0},
        {"  matcher\t3 dir rx ipv4-dst 10.1.2.3 action mark 4294967295 queue 7\r", 0},
        {"matcher 12 ipv4-src 10.1.2.0 l4-dport 443 ip-proto 6 dir rx action queue 1", 1},
        {"matcher 12 ip-proto tcp ipv4-src 10.1.2.0/24 action count", 1},
        {"matcher 12 l4-dport 0x1bb action count", 1},
        {"matcher 5 dmac 02:00:00:00:00:01 ipv6-dst 2001:db8:: vlan-id 100 action drop", 2},
        {"matcher 5 vlan-id 4095 dir tx action count", 2},
        {"matcher 9 ethertype ipv4 l4-sport 256 action count", 3},
    };
    for (const auto& [line, t] : lines) {
        bool taken = false;
        EXPECT_TRUE(quick_agrees(quick, line, kTemplates[t], taken));
        EXPECT_TRUE(taken) << "not taken quickly: '" << line << "'";
    }
}

TEST(QuickRuleLine, leaves_a_line_the_full_parse_refuses_or_reads_otherwise) {
    QuickRuleLine quick;
    const std::vector<std::pair<std::string, std::size_t>> lines = {
        {"matcher 3 ipv4-dst 11.0.0.1", 0},                 // no action
        {"ipv4-dst 11.0.0.1 action count", 0},              // no matcher
        {"matcher 0 ipv4-dst 11.0.0.1 action count", 0},    // matcher 0
        {"matcher 3 ipv4-dst 011.0.0.1 action count", 0},   // inet_pton refuses
        {"matcher 3 ipv4-dst 11.0.0.256 action count", 0},  // an octet above 255
        {"matcher 3 ipv4-dst 11.0.0.1 ipv4-dst 1.2.3.4 action count", 0},
        {"matcher 3 ipv4-src 11.0.0.1 action count", 0},                     // not in the template
        {"matcher 3 ipv4-dst 11.0.0.1 action count # why", 0},               // a comment
        {"matcher 3 ipv4-dst 11.0.0.1 action drop count", 0},                // terminal not last
        {"matcher 3 dir tx ipv4-dst 11.0.0.1 action mark 1", 0},             // RX-only action
        {"matcher 3 ipv4-dst 11.0.0.1 action mark", 0},                      // no number
        {"matcher 3 ipv4-dst 11.0.0.1 action mark action 5", 0},             // no number
        {"matcher 3 ipv4-dst 11.0.0.1 action mark 4294967296", 0},           // above 32 bits
        {"matcher 3 ipv4-dst 11.0.0.1 action", 0},                           // no actions
        {"matcher 3 ipv4-dst 11.0.0.1 action count count", 0},               // twice
        {"matcher 3 dev sgnic/1 ipv4-dst 11.0.0.1 action count", 0},         // bad port
        {"matcher 3 ipv4-dst 11.0.0.1 dir up action count", 0},              // no such direction
        {"matcher 12 ipv4-src 10.1.2.1 action count", 1},                    // outside the /24
        {"matcher 12 ipv4-src 10.1.2.0/16 action count", 1},                 // another mask
        {"matcher 12 l4-dport 65536 action count", 1},                       // above 16 bits
        {"matcher 5 vlan-id 4096 action count", 2},                          // above 12 bits
        {"matcher 9 l4-sport 1 action count", 3},                            // outside 0xff00
        {"matcher 3 ipv4-dst 11.0.0.1 action count \xc3\xa9", 0},            // not ASCII
        {"matcher 3 ipv4-dst 11.0.0.1#x action count", 0},                   // a comment in a word
        {std::string("matcher 3 ipv4-dst 11.0.0.1 action count\0", 41), 0},  // a NUL
    };
    for (const auto& [line, t] : lines) {
        DesiredRule rule;
        EXPECT_FALSE(quick.scan(line) && quick.parse(QuickTemplate(kTemplates[t]), rule))
            << "taken quickly: '" << line << "'";
    }
}

// Lines made of the grammar's parts, good and bad, with a stray word now
// and then: the quick parse never takes one the full parse refuses or
// reads otherwise, and takes many.
TEST(QuickRuleLine, agrees_with_the_full_parse_on_generated_lines) {
    std::mt19937 random(19);  // fixed: a failure can be run again
    const auto pick = [&](const std::vector<std::string>& from) {
        return from[random() % from.size()];
    };
    const std::vector<std::string> ids = {"3", "12", "0", "007", "x", "99999999999"};
    const std::vector<std::string> ports = {"sgnic1", "sgnic/1", "a-very-long-port-name"};
    const std::vector<std::string> dirs = {"rx", "tx", "both", "rx,tx", "up"};
    const std::vector<std::string> fields = {"ipv4-dst", "ipv4-src", "l4-dport", "ip-proto",
                                             "vlan-id",  "dmac",     "ipv6-dst", "ethertype",
                                             "l4-sport", "nosuch"};
    const std::vector<std::string> values = {"11.0.0.1",
                                             "10.1.2.0",
                                             "0.0.0.0",
                                             "010.1.2.0",
                                             "1.2.3",
                                             "1.2.3.4.5",
                                             "256.1.1.1",
                                             "10.1.2.0/24",
                                             "10.1.2.0/255.255.255.0",
                                             "10.1.2.0/16",
                                             "443",
                                             "65536",
                                             "0xffff",
                                             "tcp",
                                             "4095",
                                             "4096",
                                             "02:00:00:00:00:01",
                                             "2001:db8::",
                                             "2001:db8::1",
                                             "ipv4",
                                             "007",
                                             "256",
                                             "-1",
                                             "1e3",
                                             ""};
    const std::vector<std::string> actions = {
        "count",           "drop",      "accept",       "mark 1", "queue 7", "mark",
        "mark 4294967296", "mark 0x10", "queue action", "nosuch"};
    const std::vector<std::string> strays = {"#", "\t", "action", "matcher", "dir", "dev", "x"};
    QuickRuleLine quick;
    std::size_t taken_lines = 0;
    constexpr int kLines = 100000;
    for (int n = 0; n < kLines; ++n) {
        std::vector<std::string> parts;
        if (random() % 8 != 0) {
            parts.push_back("matcher " + pick(ids));
        }
        if (random() % 4 == 0) {
            parts.push_back("dev " + pick(ports));
        }
        if (random() % 2 == 0) {
            parts.push_back("dir " + pick(dirs));
        }
        for (std::size_t f = random() % 4; f > 0; --f) {
            parts.push_back(pick(fields) + " " + pick(values));
        }
        std::shuffle(parts.begin(), parts.end(), random);
        std::string line;
        for (const std::string& part : parts) {
            line += part + " ";
        }
        if (random() % 8 != 0) {
            line += "action";
            for (std::size_t a = 1 + random() % 3; a > 0; --a) {
                line += " " + pick(actions);
            }
        }
        if (random() % 10 == 0) {
            line.insert(random() % (line.size() + 1), " " + pick(strays) + " ");
        }
        for (const proto::MatchTemplate& t : kTemplates) {
            bool taken = false;
            ASSERT_TRUE(quick_agrees(quick, line, t, taken));
            taken_lines += taken ? 1 : 0;
        }
    }
    // The check is only as good as the lines the quick parse took.
    EXPECT_GT(taken_lines, std::size_t{kLines} / 50) << "taken quickly: " << taken_lines;
}

// A line read on from where the line before ended a pair reads as the
// same line read alone: lines of a bulk shape, each changed from the one
// before at one random byte (a value, a word of the place, a blank, a NUL,
// a '#'), cut short, or left as it was.
TEST(QuickRuleLine, a_line_read_on_from_the_line_before_reads_as_if_read_alone) {
    std::mt19937 random(7);  // fixed: a failure can be run again
    // Each with the template of its fields.
    const std::vector<std::pair<std::string, std::size_t>> shapes = {
        {"matcher 3 dir rx ipv4-dst 11.0.0.1 action count", 0},
        {"dev sgnic1 matcher 3 dir both ipv4-dst 11.0.0.1 action count drop", 0},
        {"matcher 12 ipv4-src 10.1.2.0 l4-dport 443 ip-proto 6 dir rx action queue 1", 1},
        {"matcher 5 dmac 02:00:00:00:00:01 ipv6-dst 2001:db8:: vlan-id 100 action drop", 2},
    };
    const std::string bytes = std::string("0123456789 .:#\t") + std::string(1, '\0') + "rxtb";
    std::size_t taken_lines = 0;
    std::size_t changed_in_place = 0;
    for (const auto& [shape, t] : shapes) {
        const QuickTemplate tmpl(kTemplates[t]);
        QuickRuleLine reused;
        std::string line = shape;
        for (int n = 0; n < 20000; ++n) {
            std::string next = n % 3 == 0 ? shape : line;
            const std::size_t at = random() % next.size();
            const std::size_t digit = next.find_first_of("0123456789", at);
            switch (random() % 8) {
                case 0:
                    break;  // the same line again
                case 1:
                    next.resize(at);
                    break;
                case 2:
                    next.insert(at, 1, bytes[random() % bytes.size()]);
                    break;
                case 3:
                case 4:
                case 5:  // a number changed: mostly still a rule
                    if (digit != std::string::npos) {
                        next[digit] = static_cast<char>('0' + random() % 10);
                        changed_in_place += digit < next.find("action") ? 1 : 0;
                    }
                    break;
                default:
                    next[at] = bytes[random() % bytes.size()];
                    changed_in_place += at < next.find("action") ? 1 : 0;
                    break;
            }
            line = next.empty() ? shape : next;
            QuickRuleLine alone;
            DesiredRule from_reused;
            DesiredRule from_alone;
            const bool scanned = reused.scan(line);
            ASSERT_EQ(scanned, alone.scan(line)) << testing::PrintToString(line);
            if (!scanned) {
                continue;
            }
            EXPECT_EQ(reused.matcher(), alone.matcher()) << line;
            EXPECT_EQ(reused.port(), alone.port()) << line;
            const bool parsed = reused.parse(tmpl, from_reused);
            ASSERT_EQ(parsed, alone.parse(tmpl, from_alone)) << line;
            EXPECT_EQ(from_reused, from_alone) << line;
            taken_lines += parsed ? 1 : 0;
        }
    }
    // The check is only as good as the lines taken and changed.
    EXPECT_GT(taken_lines, std::size_t{20000}) << "taken: " << taken_lines;
    EXPECT_GT(changed_in_place, std::size_t{10000})
        << "changed before action: " << changed_in_place;
}

}  // namespace
}  // namespace sgnic::model
