// <state-dir>/seal: what a clean stop leaves for the next start
// (model::Seal: every port's steer_gen, where each rule was).  It is not
// the desired state — state.db is — only a way to skip reading a million
// rules back from the kernel when nothing changed there; a seal that is
// missing, unreadable or no longer true costs that read, never a rule.
//
// The file is written whole to a temporary name, synced and renamed over,
// so a crash leaves the old seal or the new one; it ends in a checksum.
// The next start reads it and removes it: a seal is used once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "model/adopt.hpp"
#include "sgnic/proto/result.hpp"

namespace sgnic::store {

// The file's bytes, and back; decode_seal names what is wrong with a file
// it refuses (Errc::store).
std::vector<std::uint8_t> encode_seal(const model::Seal& seal);
Expected<model::Seal> decode_seal(std::span<const std::uint8_t> bytes);

Status write_seal(const std::filesystem::path& state_dir, const model::Seal& seal);
// nullopt when there is none.
Expected<std::optional<model::Seal>> read_seal(const std::filesystem::path& state_dir);
// Gone, or was never there.
Status remove_seal(const std::filesystem::path& state_dir);

}  // namespace sgnic::store
