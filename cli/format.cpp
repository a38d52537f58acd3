#include "cli/format.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "sgnic/proto/limits.hpp"

namespace sgnic::cli {

namespace {

constexpr double kKibi = 1024.0;
constexpr double kKilo = 1000.0;
constexpr int kSecondsPerMinute = 60;
constexpr int kSecondsPerHour = 3600;
constexpr int kPercent = 100;

bool numeric(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(),
                       [](char c) {
                           return (c >= '0' && c <= '9') || c == '.' || c == ' ' || c == 'k' ||
                                  c == 'M' || c == 'G' || c == 'T' || c == 'i' || c == 'B' ||
                                  c == 'K';
                       }) &&
           s.front() >= '0' && s.front() <= '9';
}

std::string fixed1(double v) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%.1f", v);
    return buf.data();
}

std::string u64(const Json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number()) {
        return "-";
    }
    return std::to_string(it->get<std::uint64_t>());
}

std::uint64_t num(const Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::string str(const Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "-";
}

// "ipv4-dst/255.255.255.0,ip-proto/0xff" from [{"field","mask"}...].
std::string joined_fields(const Json& arr, const char* what, const char* sep) {
    std::string out;
    if (!arr.is_array()) {
        return out;
    }
    for (const Json& f : arr) {
        if (!out.empty()) {
            out += ",";
        }
        out += str(f, "field") + sep + str(f, what);
    }
    return out;
}

std::string joined(const Json& arr) {
    std::string out;
    if (!arr.is_array()) {
        return out;
    }
    for (const Json& a : arr) {
        if (!out.empty()) {
            out += " ";
        }
        out += a.is_string() ? a.get<std::string>() : a.dump();
    }
    return out;
}

std::vector<std::string> matcher_row(const Json& m) {
    const bool installed = m.value("installed", false);
    const Json none = Json::object();
    const Json& rx = installed && m.contains("rx") ? m["rx"] : none;
    const Json& tx = installed && m.contains("tx") ? m["tx"] : none;
    return {u64(m, "id"),
            str(m, "port"),
            u64(m, "priority"),
            installed ? "yes" : "no",
            u64(rx, "size_log"),
            u64(tx, "size_log"),
            u64(rx, "rules"),
            u64(tx, "rules"),
            installed ? std::to_string(num(rx, "pages") + num(tx, "pages")) : "-",
            u64(m, "rehashes"),
            joined_fields(m.value("template", Json::array()), "mask", "/")};
}

const std::vector<std::string> kMatcherHeader = {"ID",     "PORT",     "PRIO",     "INSTALLED",
                                                 "RX_LOG", "TX_LOG",   "RX_RULES", "TX_RULES",
                                                 "PAGES",  "REHASHES", "TEMPLATE"};

}  // namespace

std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(header.size());
    std::vector<bool> right(header.size(), !rows.empty());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& r : rows) {
            if (c < r.size()) {
                width[c] = std::max(width[c], r[c].size());
                right[c] = right[c] && (numeric(r[c]) || r[c] == "-");
            }
        }
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < header.size(); ++c) {
            const std::string cell = c < cells.size() ? cells[c] : "";
            const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
            const bool last = c + 1 == header.size();
            if (right[c]) {
                out += pad + cell;
            } else {
                out += cell + (last ? "" : pad);
            }
            if (!last) {
                out += "  ";
            }
        }
        return out + "\n";
    };
    std::string out = line(header);
    for (const auto& r : rows) {
        out += line(r);
    }
    return out;
}

std::string human_bytes(std::uint64_t bytes) {
    static constexpr std::array<const char*, 6> kUnits = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < static_cast<std::uint64_t>(kKibi)) {
        return std::to_string(bytes) + " B";
    }
    auto v = static_cast<double>(bytes);
    std::size_t u = 0;
    while (v >= kKibi && u + 1 < kUnits.size()) {
        v /= kKibi;
        ++u;
    }
    return fixed1(v) + " " + kUnits.at(u);
}

std::string human_count(std::uint64_t n) {
    static constexpr std::array<const char*, 5> kUnits = {"", "k", "M", "G", "T"};
    if (n < static_cast<std::uint64_t>(kKilo)) {
        return std::to_string(n);
    }
    auto v = static_cast<double>(n);
    std::size_t u = 0;
    while (v >= kKilo && u + 1 < kUnits.size()) {
        v /= kKilo;
        ++u;
    }
    return fixed1(v) + kUnits.at(u);
}

std::string counted(std::uint64_t n, std::string_view noun) {
    std::string out = std::to_string(n) + " ";
    out += noun;
    return n == 1 ? out : out + "s";
}

std::string human_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) {
        return "?";
    }
    const auto s = static_cast<long long>(std::llround(seconds));
    std::array<char, 32> buf{};
    if (s < kSecondsPerMinute) {
        std::snprintf(buf.data(), buf.size(), "%llds", s);
    } else if (s < kSecondsPerHour) {
        std::snprintf(buf.data(), buf.size(), "%lldm%02llds", s / kSecondsPerMinute,
                      s % kSecondsPerMinute);
    } else {
        std::snprintf(buf.data(), buf.size(), "%lldh%02lldm", s / kSecondsPerHour,
                      (s % kSecondsPerHour) / kSecondsPerMinute);
    }
    return buf.data();
}

std::string dump(const Json& doc, bool pretty) { return doc.dump(pretty ? 2 : -1) + "\n"; }

std::string format_port_list(const Json& describe) {
    std::vector<std::vector<std::string>> rows;
    for (const Json& p : describe.value("ports", Json::array())) {
        rows.push_back({str(p, "name"), u64(p, "ifindex"), u64(p, "rx_rules"), u64(p, "tx_rules"),
                        u64(p, "device_pages"),
                        human_bytes(num(p, "device_pages") * proto::kDevicePageBytes)});
    }
    if (rows.empty()) {
        return "no sgnic ports\n";
    }
    return table({"PORT", "IFINDEX", "RX_RULES", "TX_RULES", "PAGES", "PAGE_MEMORY"}, rows);
}

std::string format_port_show(const Json& port, const Json& stats_port) {
    std::string out;
    out += "port " + str(port, "name") + " (ifindex " + u64(port, "ifindex") + ")\n";
    const Json caps = port.value("caps", Json::object());
    out += "  caps: ste_alloc_log_max " + u64(caps, "ste_alloc_log_max") + ", rtc_log_depth_max " +
           u64(caps, "rtc_log_depth_max") + ", max_action_templates " +
           u64(caps, "max_action_templates") + "\n";
    out += "  rules: rx " + u64(port, "rx_rules") + ", tx " + u64(port, "tx_rules") +
           "; device pages " + u64(port, "device_pages") + " (" +
           human_bytes(num(port, "device_pages") * proto::kDevicePageBytes) + ")\n";
    if (stats_port.is_object()) {
        out += "  hits: rx " + human_count(num(stats_port, "rx_packets")) + " packets, " +
               human_bytes(num(stats_port, "rx_bytes")) + "; tx " +
               human_count(num(stats_port, "tx_packets")) + " packets, " +
               human_bytes(num(stats_port, "tx_bytes")) + "\n";
    }
    const Json matchers = port.value("matchers", Json::array());
    if (matchers.empty()) {
        out += "  no matchers\n";
        return out;
    }
    std::vector<std::vector<std::string>> rows;
    for (const Json& m : matchers) {
        rows.push_back(matcher_row(m));
    }
    return out + "\n" + table(kMatcherHeader, rows);
}

std::string format_matcher_list(const Json& matchers) {
    if (!matchers.is_array() || matchers.empty()) {
        return "no matchers\n";
    }
    std::vector<std::vector<std::string>> rows;
    for (const Json& m : matchers) {
        rows.push_back(matcher_row(m));
    }
    return table(kMatcherHeader, rows);
}

std::string format_matcher_show(const Json& m) {
    std::string out = "matcher " + u64(m, "id") + " on " + str(m, "port") + ", priority " +
                      u64(m, "priority") + "\n";
    out += "  template: " + joined_fields(m.value("template", Json::array()), "mask", "/") + "\n";
    if (!m.value("installed", false)) {
        out += "  not installed (its port is absent)\n";
    } else {
        std::vector<std::vector<std::string>> rows;
        for (const char* dir : {"rx", "tx"}) {
            const Json d = m.value(dir, Json::object());
            rows.push_back({dir, u64(d, "size_log"), u64(d, "rules"), u64(d, "pages"),
                            human_bytes(num(d, "pages") * proto::kDevicePageBytes),
                            d.value("rehash_required", false) ? "yes" : "no"});
        }
        out += "  rehashes " + u64(m, "rehashes") + ", action templates " +
               u64(m, "action_templates") + "\n";
        if (const Json r = m.value("resizing", Json()); r.is_object()) {
            out += "  rehash in progress (" + r.value("reason", std::string("?")) +
                   "): " + u64(r, "moved") + " of " + u64(r, "total") + " rules moved\n";
        }
        out += "\n";
        out += table({"DIR", "SIZE_LOG", "RULES", "PAGES", "MEMORY", "REHASH_REQUIRED"}, rows);
    }
    const std::uint64_t rules = num(m, "rule_count");
    out += "\n" + counted(rules, "rule");
    if (rules != 0) {
        out += " (sgnicctl rule list matcher " + u64(m, "id") + ")";
    }
    return out + "\n";
}

std::string format_rule_list(const Json& doc) {
    std::vector<std::vector<std::string>> rows;
    for (const Json& r : doc.value("rules", Json::array())) {
        const Json c = r.value("counters", Json());
        const bool have = c.is_object();
        rows.push_back({u64(r, "id"), u64(r, "matcher"), str(r, "port"), str(r, "directions"),
                        joined_fields(r.value("match", Json::array()), "value", "="),
                        joined(r.value("actions", Json::array())),
                        have ? human_count(num(c, "rx_packets") + num(c, "tx_packets")) : "-",
                        have ? human_bytes(num(c, "rx_bytes") + num(c, "tx_bytes")) : "-"});
    }
    std::string out =
        rows.empty()
            ? "no rules\n"
            : table({"ID", "MATCHER", "PORT", "DIR", "MATCH", "ACTIONS", "PACKETS", "BYTES"}, rows);
    for (const Json& e : doc.value("errors", Json::array())) {
        out +=
            "warning: counters unavailable: " + (e.is_string() ? e.get<std::string>() : e.dump()) +
            "\n";
    }
    return out;
}

std::string format_stats(const Json& stats) {
    std::vector<std::vector<std::string>> rows;
    auto row = [&](const std::string& name, const Json& p) {
        rows.push_back({name, u64(p, "matchers"), u64(p, "rx_rules"), u64(p, "tx_rules"),
                        u64(p, "device_pages"), u64(p, "rehashes"),
                        human_count(num(p, "rx_packets")), human_bytes(num(p, "rx_bytes")),
                        human_count(num(p, "tx_packets")), human_bytes(num(p, "tx_bytes"))});
    };
    for (const Json& p : stats.value("ports", Json::array())) {
        row(str(p, "name"), p);
    }
    row("total", stats.value("total", Json::object()));
    std::string out = "sgnicd " + str(stats, "version") + ": " +
                      counted(num(stats, "matchers"), "matcher") + ", " +
                      counted(num(stats, "rules"), "rule") + "\n\n";
    out += table({"PORT", "MATCHERS", "RX_RULES", "TX_RULES", "PAGES", "REHASHES", "RX_PKTS",
                  "RX_BYTES", "TX_PKTS", "TX_BYTES"},
                 rows);
    for (const Json& e : stats.value("errors", Json::array())) {
        out +=
            "warning: counters unavailable: " + (e.is_string() ? e.get<std::string>() : e.dump()) +
            "\n";
    }
    return out;
}

std::string progress_line(std::uint64_t done, std::uint64_t total, double elapsed_seconds,
                          std::size_t width) {
    const double frac = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
    const auto filled = static_cast<std::size_t>(frac * static_cast<double>(width));
    std::string bar = "[" + std::string(std::min(filled, width), '#') +
                      std::string(width - std::min(filled, width), ' ') + "]";
    const double rate = elapsed_seconds > 0 ? static_cast<double>(done) / elapsed_seconds : 0.0;
    const std::string eta =
        rate > 0 ? human_duration(static_cast<double>(total - std::min(done, total)) / rate) : "?";
    std::array<char, 8> pct{};
    std::snprintf(pct.data(), pct.size(), "%3d%%", static_cast<int>(frac * kPercent));
    return bar + " " + pct.data() + "  " + human_count(done) + "/" + human_count(total) + "  " +
           human_count(static_cast<std::uint64_t>(rate)) + " rules/s  ETA " + eta;
}

}  // namespace sgnic::cli
