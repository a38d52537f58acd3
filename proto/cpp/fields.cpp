#include "sgnic/proto/fields.hpp"

#include <algorithm>
#include <array>

#include "sgnic/proto/spec.hpp"

namespace sgnic::proto {

namespace {

constexpr FieldKind kind_of(std::uint32_t id) {
    switch (id) {
        case SGNIC_MATCH_FIELD_DMAC:
        case SGNIC_MATCH_FIELD_SMAC:
            return FieldKind::mac;
        case SGNIC_MATCH_FIELD_IPV4_SRC:
        case SGNIC_MATCH_FIELD_IPV4_DST:
            return FieldKind::ipv4;
        case SGNIC_MATCH_FIELD_IPV6_SRC:
        case SGNIC_MATCH_FIELD_IPV6_DST:
            return FieldKind::ipv6;
        default:
            return FieldKind::number;
    }
}

constexpr auto make_fields() {
    std::array<FieldInfo, spec::kMatchFields.size()> out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        const spec::MatchField& f = spec::kMatchFields.at(i);
        const FieldKind kind = kind_of(f.id);
        out.at(i) = FieldInfo{
            .name = f.name,
            .id = f.id,
            .length = f.length,
            .kind = kind,
            .max = kind == FieldKind::number
                       ? static_cast<std::uint32_t>((std::uint64_t{1} << f.bits) - 1)
                       : 0,
        };
    }
    return out;
}

constexpr auto kFields = make_fields();

}  // namespace

std::span<const FieldInfo> all_fields() { return kFields; }

const FieldInfo* find_field(std::string_view name) {
    const auto* it = std::find_if(kFields.begin(), kFields.end(),
                                  [&](const FieldInfo& f) { return f.name == name; });
    return it == kFields.end() ? nullptr : &*it;
}

const FieldInfo* find_field_by_id(std::uint32_t id) {
    const auto* it = std::find_if(kFields.begin(), kFields.end(),
                                  [&](const FieldInfo& f) { return f.id == id; });
    return it == kFields.end() ? nullptr : &*it;
}

std::string field_names() {
    std::string out;
    for (const FieldInfo& f : kFields) {
        if (!out.empty()) {
            out += ", ";
        }
        out += f.name;
    }
    return out;
}

}  // namespace sgnic::proto
