// The [forwarder] section of /etc/imagebuild/imagebuild.conf (inih). Other
// sections belong to other components and are ignored here.
#pragma once

#include "common/config_file.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace imagebuild::forwarder {

struct ForwarderConfig {
    std::string listen = "0.0.0.0:8470";  // used only outside socket activation
    std::vector<std::string> peers;       // base URLs of the other hosts' forwarders
    std::string publicUrl;                // how others reach this forwarder
    std::string tokensFile;
    std::string fleetTokenFile;  // the token this forwarder presents to peers
    std::string fleetTokenName = "fleet";
    unsigned healthIntervalSec = 2;
    unsigned healthTimeoutSec = 2;
    unsigned peerTimeoutSec = 15;
    unsigned firstProbeWaitSec = 3;  // answers about the fleet wait this long for a first probe
    bool readOpen = true;
    std::size_t maxBodyBytes = 1024 * 1024;
    std::size_t maxUploadBytes = 16 * 1024 * 1024;  // multipart/form-data, and a tar unpacked
    std::size_t maxUploadEntries = 1000;            // entries of an uploaded tar
    std::size_t maxHeadBytes = 16 * 1024;           // request line and header fields
    // A release day: ten thousand followers of one build, each a connection.
    unsigned maxConnections = 16384;
    unsigned maxConnectionsPerAddress = 128;
    unsigned headTimeoutSec = 10;         // for the request head to arrive whole
    unsigned requestTimeoutSec = 60;      // an idle connection is closed after this
    std::size_t followRingLines = 65536;  // lines of a followed build kept in memory
    std::string wwwDir;                   // the web interface's pages and static files
};

// Messages read "<file>:<line>: <what is wrong>"; the same error the agent
// throws for the rest of the file.
using imagebuild::ConfigError;

ForwarderConfig defaultConfig();
// A missing file means defaults; an unreadable or invalid one throws ConfigError.
ForwarderConfig loadConfig(const std::string& path);
// `name` is used in messages only.
ForwarderConfig parseConfig(std::string_view text, const std::string& name);

// "host:port" -> {host, port}; throws std::invalid_argument.
std::pair<std::string, unsigned short> splitHostPort(std::string_view text);

}  // namespace imagebuild::forwarder
