#include "forwarder/upload_form.hpp"

#include <fmt/format.h>

#include <strings.h>
#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "forwarder/json_error.hpp"
#include "forwarder/kickstart_upload.hpp"

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

constexpr const char* kAllowed =
    "type, arch, release, name, notify, timeout_sec, label, webhook, kickstart, kickstart_file, "
    "kickstart_main";

UploadError invalid(const std::string& message) {
    return UploadError(400, "InvalidSpec", message);
}

struct Form {
    json spec = json::object();
    std::string kickstart;
    const FormField* kickstartFile = nullptr;
    std::string kickstartMain;
};

void setOnce(json& spec, const std::string& key, const std::string& value) {
    if (spec.contains(key)) {
        throw invalid(fmt::format("'{}' is given twice", key));
    }
    spec[key] = value;
}

void setOnce(std::string& out, const std::string& key, const std::string& value) {
    if (!out.empty()) {
        throw invalid(fmt::format("'{}' is given twice", key));
    }
    out = value;
}

void addLabel(json& spec, const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        throw invalid(fmt::format("label '{}' must be KEY=VALUE", text));
    }
    auto key = text.substr(0, eq);
    auto& labels = spec["labels"];
    if (labels.contains(key)) {
        throw invalid(fmt::format("label '{}' is given twice", key));
    }
    labels[key] = text.substr(eq + 1);
}

void setTimeout(json& spec, const std::string& text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        throw invalid("'timeout_sec' must be a non-negative integer");
    }
    if (spec.contains("timeout_sec")) {
        throw invalid("'timeout_sec' is given twice");
    }
    spec["timeout_sec"] = value;
}

void take(Form& form, const FormField& field) {
    const auto& name = field.name;
    const auto& value = field.value;
    if (name == "type" || name == "arch" || name == "release" || name == "name" ||
        name == "webhook") {
        setOnce(form.spec, name, value);
    } else if (name == "notify") {
        form.spec["notify"].push_back(value);
    } else if (name == "label") {
        addLabel(form.spec, value);
    } else if (name == "timeout_sec") {
        setTimeout(form.spec, value);
    } else if (name == "kickstart") {
        setOnce(form.kickstart, name, value);
    } else if (name == "kickstart_main") {
        setOnce(form.kickstartMain, name, value);
    } else if (name == "kickstart_file") {
        if (form.kickstartFile) {
            throw invalid("'kickstart_file' is given twice");
        }
        form.kickstartFile = &field;
    } else {
        throw invalid(fmt::format("unknown field '{}' (allowed: {})", name, kAllowed));
    }
}

}  // namespace

bool isMultipartForm(const Request& request) {
    constexpr std::string_view multipart = "multipart/form-data";
    auto type = request.header("content-type");
    return type.size() >= multipart.size() &&
           strncasecmp(type.c_str(), multipart.data(), multipart.size()) == 0;
}

std::string specBodyFromForm(const std::vector<FormField>& fields, const ForwarderConfig& config) {
    Form form;
    for (const auto& field : fields) {
        // Browsers send every field of a form, the ones left blank empty.
        if (!field.value.empty()) {
            take(form, field);
        }
    }
    for (const char* key : {"type", "arch", "release"}) {
        if (!form.spec.contains(key)) {
            throw invalid(fmt::format("'{}' is required", key));
        }
    }
    if (form.kickstart.empty() && !form.kickstartFile) {
        throw invalid("'kickstart' (text) or 'kickstart_file' (a file or a tar) is required");
    }
    if (!form.kickstart.empty() && form.kickstartFile) {
        throw invalid("give 'kickstart' or 'kickstart_file', not both");
    }
    if (!form.kickstartMain.empty() && !form.kickstartFile) {
        throw invalid("'kickstart_main' names the top file of a 'kickstart_file' tar");
    }
    KickstartLimits limits{config.maxUploadBytes, config.maxBodyBytes, config.maxUploadEntries};
    form.spec["kickstart"] =
        form.kickstartFile
            ? flattenUploadedKickstart(form.kickstartFile->value, form.kickstartFile->filename,
                                       form.kickstartMain, limits)
            : flattenPastedKickstart(form.kickstart, limits);
    std::string body;
    try {
        body = form.spec.dump();
    } catch (const json::type_error& e) {
        throw invalid(fmt::format("a field is not UTF-8 text: {}", e.what()));
    }
    if (body.size() > config.maxBodyBytes) {
        throw UploadError(413, "PayloadTooLarge",
                          fmt::format("the flattened spec is {} bytes, more than max_body_bytes "
                                      "({})",
                                      body.size(), config.maxBodyBytes));
    }
    return body;
}

std::optional<Response> convertFormRequest(Request& request, const ForwarderConfig& config) {
    if (!isMultipartForm(request)) {
        return std::nullopt;
    }
    try {
        request.body = specBodyFromForm(request.form, config);
    } catch (const UploadError& e) {
        return jsonError(e.status, e.error, e.what());
    }
    request.form.clear();
    request.headers["content-type"] = "application/json";
    return std::nullopt;
}

}  // namespace imagebuild::forwarder
