// POST /v1/builds as multipart/form-data (the web form, curl -F): the fields
// become a BuildSpec through the one spec codec (common/build_spec.hpp), the
// kickstart flattened here (forwarder/kickstart_upload.hpp). From then on it
// is the JSON path's: the same placement and validation; a peer is sent the
// spec as JSON, or with side RPMs as a form of `spec` and the `rpm` files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/build_spec.hpp"
#include "forwarder/config.hpp"
#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

bool isMultipartForm(const Request& request);

struct FormSpec {
    BuildSpec spec;           // validated; its rpms are anonymous files (rpm_upload.hpp)
    std::string body;         // what a peer is sent
    std::string contentType;  // the body's: JSON, or multipart with side RPMs
};

// The spec of a form. Fields: the spec keys' form fields (specFormFields():
// type, arch, release, name, notify (repeatable), timeout_sec, label
// (repeatable, K=V), webhook), and the kickstart as `kickstart` (text) or
// `kickstart_file` (a file or a tar, with `kickstart_main`); or instead of
// all those, `spec`: a JSON object with the keys of a JSON body. Side RPMs
// are `rpm` files (repeatable), with either. Empty fields count as absent.
// Throws UploadError.
FormSpec specFromForm(const std::vector<FormField>& form, const ForwarderConfig& config);

}  // namespace imagebuild::forwarder
