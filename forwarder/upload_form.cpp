#include "forwarder/upload_form.hpp"

#include <fmt/format.h>

#include <strings.h>
#include <nlohmann/json.hpp>
#include <set>

#include "forwarder/kickstart_upload.hpp"
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
                        "kickstart_main)",
                        name, specFormFields()));
    }
}

void readFields(Form& form, const std::vector<FormField>& fields) {
    try {
        for (const auto& field : fields) {
            // Browsers send every field of a form, the ones left blank empty.
            if (!field.value.empty()) {
                take(form, field);
            }
        }
        checkFormRequired(form.spec);
    } catch (const SpecError& e) {
        throw invalid(e.what());
    }
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
    try {
        refuseNul(asJson);
        validateSpec(form.spec);
    } catch (const SpecError& e) {
        throw invalid(e.what());
    }
    out.spec = std::move(form.spec);
    return out;
}

}  // namespace imagebuild::forwarder
