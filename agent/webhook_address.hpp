// Which addresses a webhook may be sent to. A build's spec names its webhook,
// so anyone who may submit could otherwise point the agent (root, on the
// build host) at the host's own or its network's internal services. The
// check is made on each address the name resolves to, at send time, and the
// connection goes only to an address that passed it (a name that resolves
// differently later gains nothing).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>

namespace imagebuild::agent {

// Empty when `address` is a public unicast address; otherwise what it is
// ("loopback", "link-local", "private", ...), for the refusal message.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
std::string internalAddressKind(const boost::asio::ip::address& address);

}  // namespace imagebuild::agent
