#include "forwarder/upload_form.hpp"

#include <fmt/format.h>

#include <strings.h>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "common/multipart_form.hpp"
#include "forwarder/kickstart_upload.hpp"
#include "forwarder/rpm_upload.hpp"
#include "forwarder/submit_spec.hpp"

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

UploadError invalid(const std::string& message) {
    return UploadError(400, "InvalidSpec", message);
}

struct Form {
    BuildSpec spec;
    std::set<std::string> given;
    std::string kickstart;
    const FormField* kickstartFile = nullptr;
    std::string kickstartMain;
    std::string specJson;                  // `spec`: the whole spec as a JSON body
    std::vector<std::string> otherFields;  // the fields `spec` leaves no room for
    std::vector<const FormField*> rpms;
};

void setOnce(std::string& out, const std::string& key, const std::string& value) {
    if (!out.empty()) {
        throw invalid(fmt::format("'{}' is given twice", key));
    }
    out = value;
}

void take(Form& form, const FormField& field) {
    const auto& name = field.name;
    const auto& value = field.value;
    if (name == "rpm") {
        if (field.filename.empty()) {
            throw invalid("'rpm' must be a file (curl -F rpm=@FILE), not text");
        }
        form.rpms.push_back(&field);
        return;
    }
    if (name == "spec") {
        setOnce(form.specJson, name, value);
        return;
    }
    form.otherFields.push_back(name);
    if (name == "kickstart") {
        setOnce(form.kickstart, name, value);
    } else if (name == "kickstart_main") {
        setOnce(form.kickstartMain, name, value);
    } else if (name == "kickstart_file") {
        if (form.kickstartFile) {
            throw invalid("'kickstart_file' is given twice");
        }
        form.kickstartFile = &field;
    } else if (!specFieldFromForm(name, value, form.spec, form.given)) {
        throw invalid(
            fmt::format("unknown field '{}' (allowed: {}, kickstart, kickstart_file, "
                        "kickstart_main, rpm, spec)",
                        name, specFormFields()));
    }
}

void readFields(Form& form, const std::vector<FormField>& fields) {
    try {
        for (const auto& field : fields) {
            // Browsers send every field of a form, the ones left blank empty
            // (a file input left empty: no file name either).
            if (!field.value.empty() || (field.name == "rpm" && !field.filename.empty())) {
                take(form, field);
            }
        }
    } catch (const SpecError& e) {
        throw invalid(e.what());
    }
}

// The kickstart of the fields, flattened.
void flattenFormKickstart(Form& form, const ForwarderConfig& config) {
    try {
        checkFormRequired(form.spec);
    } catch (const SpecError& e) {
        throw invalid(e.what());
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
    form.spec.kickstart =
        form.kickstartFile
            ? flattenUploadedKickstart(form.kickstartFile->value, form.kickstartFile->filename,
                                       form.kickstartMain, limits)
            : flattenPastedKickstart(form.kickstart, limits);
}

// `spec`: the JSON body's keys, the kickstart already flat; no other field
// but `rpm` (which could say otherwise than the JSON).
void readSpecField(Form& form) {
    if (!form.otherFields.empty()) {
        throw invalid(
            fmt::format("'spec' holds the whole spec; '{}' cannot be given with it "
                        "(only 'rpm' can)",
                        form.otherFields.front()));
    }
    try {
        form.spec = parseSubmitBody(form.specJson);
    } catch (const SpecError& e) {
        throw invalid("'spec': " + std::string(e.what()));
    }
}

// The `rpm` files as anonymous files, by the name the client gave each.
void openRpms(Form& form) {
    for (const auto* field : form.rpms) {
        if (form.spec.rpms.count(field->filename) != 0) {
            throw invalid(
                fmt::format("two 'rpm' files are named \"{}\"; the names tell them "
                            "apart in messages",
                            field->filename));
        }
        try {
            form.spec.rpms.emplace(field->filename,
                                   anonymousFileWith(field->value, field->filename));
        } catch (const std::system_error& e) {
            throw UploadError(500, "Internal", e.what());
        }
    }
}

// What a peer is sent: the spec as JSON, or with side RPMs the same as a
// `spec` field and the `rpm` files, multipart again.
void encodeForPeer(const Form& form, FormSpec& out) {
    out.contentType = "application/json";
    if (form.rpms.empty()) {
        return;
    }
    std::vector<MultipartPart> parts{{"spec", "", "application/json", std::move(out.body)}};
    for (const auto* field : form.rpms) {
        parts.push_back({"rpm", field->filename, "application/x-rpm", field->value});
    }
    auto encoded = encodeMultipart(parts);
    out.body = std::move(encoded.body);
    out.contentType = std::move(encoded.contentType);
}

}  // namespace

bool isMultipartForm(const Request& request) {
    constexpr std::string_view multipart = "multipart/form-data";
    auto type = request.header("content-type");
    return type.size() >= multipart.size() &&
           strncasecmp(type.c_str(), multipart.data(), multipart.size()) == 0;
}

FormSpec specFromForm(const std::vector<FormField>& fields, const ForwarderConfig& config) {
    Form form;
    readFields(form, fields);
    if (form.specJson.empty()) {
        flattenFormKickstart(form, config);
    } else {
        readSpecField(form);
    }
    FormSpec out;
    auto asJson = specToJson(form.spec);
    try {
        out.body = asJson.dump();
    } catch (const json::type_error& e) {
        throw invalid(fmt::format("a field is not UTF-8 text: {}", e.what()));
    }
    if (out.body.size() > config.maxBodyBytes) {
        throw UploadError(413, "PayloadTooLarge",
                          fmt::format("the flattened spec is {} bytes, more than max_body_bytes "
                                      "({})",
                                      out.body.size(), config.maxBodyBytes));
    }
    openRpms(form);
    try {
        refuseNul(asJson);
        validateSpec(form.spec);
    } catch (const SpecError& e) {
        throw invalid(e.what());
    }
    encodeForPeer(form, out);
    out.spec = std::move(form.spec);
    return out;
}

}  // namespace imagebuild::forwarder
