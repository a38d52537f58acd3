// The project's one error type: errors as values for every layer of sgnicd
// (policy core, devices, store, service) and for sgnicctl's checks.
//
// g++ 12 has no std::expected; this is the small subset sgnic needs.  An
// Error carries a code the caller can branch on (collision means "rehash
// may help", busy/timeout mean "try later") and a message a person can read,
// to which each layer prepends its own context.  The code is also what a
// D-Bus caller sees: org.sgnic.Steering1.<error_name(code)> (dbus.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sgnic {

enum class Errc {
    invalid_argument,  // the request itself is wrong
    no_such_port,      // unknown port
    no_such_matcher,   // unknown matcher
    no_such_rule,      // unknown rule
    not_found,         // an object the policy core or a device does not know (NoSuchRule)
    collision,         // a hash row is full: a larger table may take the rule
    no_space,          // a limit is reached (table maxed out, action templates)
    busy,              // the device is busy: retry later, a rehash does not help
    timeout,           // the device did not answer in time: as busy
    degraded,          // an earlier rollback is incomplete; heal first
    device,            // any other device error; the message says which
    store,             // the state database failed
};

// "collision", "no such port", ...: for log lines.
std::string_view to_string(Errc code);

class Error {
public:
    Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

    Errc code() const { return code_; }
    const std::string& message() const { return message_; }

    // Prepends "context: " so the outermost caller reads the whole story.
    Error& with_context(std::string_view context) {
        message_.insert(0, std::string(context) + ": ");
        return *this;
    }

private:
    Errc code_;
    std::string message_;
};

template <typename T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Expected(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    Error& error() { return std::get<1>(v_); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
public:
    Expected() = default;
    Expected(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool has_value() const { return !error_.has_value(); }
    explicit operator bool() const { return has_value(); }

    Error& error() { return *error_; }
    const Error& error() const { return *error_; }

private:
    std::optional<Error> error_;
};

using Status = Expected<void>;

}  // namespace sgnic
