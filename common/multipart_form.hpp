// A multipart/form-data body (RFC 7578) made from parts: what imagebuildctl
// -H sends for a build with side RPMs, and what a forwarder sends the peer it
// places such a build on. Reading one is libmicrohttpd's (forwarder).
#pragma once

#include <string>
#include <vector>

namespace imagebuild {

struct MultipartPart {
    std::string name;
    std::string filename;     // empty: a plain field; else a file part
    std::string contentType;  // empty: none given (text for a field)
    std::string data;         // the raw bytes
};

struct MultipartBody {
    std::string contentType;  // "multipart/form-data; boundary=..."
    std::string body;
};

// The boundary is random and checked to occur in no part. Names and file
// names are quoted; a '"', CR or LF in them is percent-encoded as browsers do.
MultipartBody encodeMultipart(const std::vector<MultipartPart>& parts);

}  // namespace imagebuild
