#include "agent/webhook_address.hpp"

#include <array>
#include <cstdint>

namespace imagebuild::agent {

namespace {

struct Range4 {
    std::uint32_t network;
    int prefix;
    const char* kind;
};

// RFC 6890's special-purpose ranges a webhook has no business reaching.
constexpr std::array<Range4, 11> kInternal4 = {{
    {0x00000000, 8, "unspecified"},                // 0.0.0.0/8 ("this network")
    {0x0a000000, 8, "private"},                    // 10.0.0.0/8
    {0x64400000, 10, "shared (carrier NAT)"},      // 100.64.0.0/10
    {0x7f000000, 8, "loopback"},                   // 127.0.0.0/8
    {0xa9fe0000, 16, "link-local"},                // 169.254.0.0/16
    {0xac100000, 12, "private"},                   // 172.16.0.0/12
    {0xc0000000, 24, "IETF protocol assignment"},  // 192.0.0.0/24
    {0xc0a80000, 16, "private"},                   // 192.168.0.0/16
    {0xc6120000, 15, "benchmarking"},              // 198.18.0.0/15
    {0xe0000000, 4, "multicast"},                  // 224.0.0.0/4
    {0xf0000000, 4, "reserved"},                   // 240.0.0.0/4, broadcast
}};

std::string kindOf4(const boost::asio::ip::address_v4& a) {
    auto bits = a.to_uint();
    for (const auto& r : kInternal4) {
        auto mask = ~std::uint32_t{0} << (32 - r.prefix);
        if ((bits & mask) == r.network) {
            return r.kind;
        }
    }
    return {};
}

std::string kindOf6(const boost::asio::ip::address_v6& a) {
    if (a.is_v4_mapped()) {
        return kindOf4(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a));
    }
    if (a.is_loopback()) {
        return "loopback";
    }
    if (a.is_unspecified()) {
        return "unspecified";
    }
    if (a.is_link_local()) {
        return "link-local";
    }
    if (a.is_multicast()) {
        return "multicast";
    }
    auto bytes = a.to_bytes();
    if ((bytes[0] & 0xfe) == 0xfc) {
        return "private (unique local)";  // fc00::/7
    }
    if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0xc0) {
        return "site-local";  // fec0::/10, deprecated
    }
    return {};
}

}  // namespace

std::string internalAddressKind(const boost::asio::ip::address& address) {
    return address.is_v4() ? kindOf4(address.to_v4()) : kindOf6(address.to_v6());
}

}  // namespace imagebuild::agent
