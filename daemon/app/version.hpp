#pragma once

namespace sgnic::app {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace sgnic::app
