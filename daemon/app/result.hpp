// What a service call can fail with, named as the D-Bus error the caller
// sees (org.sgnic.Steering1.<Name>), and a result type that carries it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "policy/expected.hpp"

namespace sgnic::app {

enum class Fault {
    invalid_argument,
    no_such_port,
    no_such_matcher,
    no_such_rule,
    collision,
    no_space,
    busy,
    timeout,
    degraded,
    device,
    store,
};

// "InvalidArgument", "NoSuchPort", ...: the last part of the D-Bus error name.
std::string_view fault_name(Fault fault);

struct ServiceError {
    Fault fault = Fault::device;
    std::string message;

    ServiceError(Fault f, std::string m) : fault(f), message(std::move(m)) {}
    // From the policy core or a device: the code decides the fault.
    ServiceError(const policy::Error& e);  // NOLINT(google-explicit-constructor)
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}                // NOLINT(google-explicit-constructor)
    Result(ServiceError error) : v_(std::move(error)) {}     // NOLINT(google-explicit-constructor)
    Result(const policy::Error& e) : v_(ServiceError(e)) {}  // NOLINT(google-explicit-constructor)

    explicit operator bool() const { return v_.index() == 0; }
    T& operator*() { return std::get<0>(v_); }
    const T& operator*() const { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const ServiceError& error() const { return std::get<1>(v_); }

private:
    std::variant<T, ServiceError> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(ServiceError error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
    Result(const policy::Error& e)
        : error_(ServiceError(e)) {}  // NOLINT(google-explicit-constructor)

    explicit operator bool() const { return !error_.has_value(); }
    const ServiceError& error() const { return *error_; }

private:
    std::optional<ServiceError> error_;
};

}  // namespace sgnic::app
