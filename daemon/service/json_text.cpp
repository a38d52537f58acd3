#include "service/json_text.hpp"

#include <array>
#include <charconv>

namespace sgnic::service::json_text {

void append_string(std::string& out, std::string_view s) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    out += '"';
    for (const char c : s) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20) {
            out += "\\u00";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_number(std::string& out, std::uint64_t n) {
    std::array<char, 20> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), n).ptr;
    out.append(digits.data(), end);
}

}  // namespace sgnic::service::json_text
