#include "sgnic/proto/result.hpp"

#include "sgnic/proto/dbus.hpp"

namespace sgnic {

std::string_view to_string(Errc code) {
    switch (code) {
        case Errc::invalid_argument:
            return "invalid argument";
        case Errc::no_such_port:
            return "no such port";
        case Errc::no_such_matcher:
            return "no such matcher";
        case Errc::no_such_rule:
            return "no such rule";
        case Errc::not_found:
            return "not found";
        case Errc::collision:
            return "collision";
        case Errc::no_space:
            return "no space";
        case Errc::busy:
            return "busy";
        case Errc::timeout:
            return "timeout";
        case Errc::degraded:
            return "degraded";
        case Errc::device:
            return "device error";
        case Errc::store:
            return "store error";
    }
    return "unknown error";
}

namespace proto::dbus {

std::string_view error_suffix(Errc code) {
    switch (code) {
        case Errc::invalid_argument:
            return "InvalidArgument";
        case Errc::no_such_port:
            return "NoSuchPort";
        case Errc::no_such_matcher:
            return "NoSuchMatcher";
        case Errc::no_such_rule:
        case Errc::not_found:
            return "NoSuchRule";
        case Errc::collision:
            return "Collision";
        case Errc::no_space:
            return "NoSpace";
        case Errc::busy:
            return "Busy";
        case Errc::timeout:
            return "Timeout";
        case Errc::degraded:
            return "Degraded";
        case Errc::device:
            return "Device";
        case Errc::store:
            return "Store";
    }
    return "Device";
}

std::string error_name(Errc code) {
    return std::string(kServiceName) + "." + std::string(error_suffix(code));
}

}  // namespace proto::dbus

}  // namespace sgnic
