// imagebuild-webhook URL [FILE]: POSTs a build's JSON record (FILE, or
// standard input) to URL as application/json, with retries and timeouts
// (agent/webhook.hpp), and logs the outcome to the journal with the build's
// IMAGEBUILD_ID= (taken from the record's "id"). The agent runs it in a
// transient unit at each state change. Exits 0 whether or not the webhook
// answered: a notification never changes a build's result; 2 on bad usage.
// Internal addresses are refused unless imagebuild.conf's [webhook]
// allow_private says yes (an unreadable config: refused).
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/webhook.hpp"
#include "common/config.hpp"

namespace {

int usage() {
    std::cerr << "usage: imagebuild-webhook URL [FILE]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        return usage();
    }
    std::string body;
    if (argc == 3 && std::string(argv[2]) != "-") {
        std::ifstream in(argv[2], std::ios::binary);
        if (!in) {
            std::cerr << "imagebuild-webhook: cannot read " << argv[2] << "\n";
            return 0;
        }
        body.assign(std::istreambuf_iterator<char>(in), {});
    } else {
        body.assign(std::istreambuf_iterator<char>(std::cin), {});
    }
    std::string id, event;
    auto record = nlohmann::json::parse(body, nullptr, false);
    if (record.is_object()) {
        id = record.value("id", "");
        event = record.value("state", "");
    }
    imagebuild::agent::WebhookPolicy policy;
    try {
        policy.allowPrivate =
            imagebuild::loadConfig(imagebuild::defaultConfigPath()).webhook.allowPrivate;
    } catch (const std::exception& e) {
        std::cerr << "imagebuild-webhook: " << e.what() << "; internal addresses refused\n";
    }
    auto d = imagebuild::agent::deliverWebhook(argv[1], body, id, event, policy);
    std::cout << "imagebuild-webhook: " << (d.delivered ? "delivered" : "failed: " + d.detail)
              << "\n";
    return 0;
}
