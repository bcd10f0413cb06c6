// POST /v1/builds as multipart/form-data (the web form, curl -F): the fields
// become the same JSON spec the JSON path takes, the kickstart flattened here
// (forwarder/kickstart_upload.hpp). From then on the request is a JSON one:
// the same placement, validation and forwarding to peers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "forwarder/config.hpp"
#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

bool isMultipartForm(const Request& request);

// The JSON spec of a form. Fields: type, arch, release, name, notify
// (repeatable), timeout_sec, label (repeatable, K=V), webhook, and the
// kickstart as `kickstart` (text) or `kickstart_file` (a file or a tar, with
// `kickstart_main`). Empty fields count as absent. Throws UploadError.
std::string specBodyFromForm(const std::vector<FormField>& form, const ForwarderConfig& config);

// For a multipart request: replaces its body by the JSON spec (and its
// Content-Type). Returns the error response if the form is refused.
std::optional<Response> convertFormRequest(Request& request, const ForwarderConfig& config);

}  // namespace imagebuild::forwarder
