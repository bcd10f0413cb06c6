#include "ctl/arguments.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>
#include <sstream>

#include "common/build_id.hpp"
#include "common/build_info.hpp"
#include "common/exit_codes.hpp"
#include "ctl/suggest.hpp"
#include "imagebuild_config.h"

namespace imagebuild::ctl {

namespace {

const std::map<std::string, Verb>& verbTable() {
    static const std::map<std::string, Verb> verbs{
        {"build", Verb::kBuild},         {"list", Verb::kList},
        {"status", Verb::kStatus},       {"log", Verb::kLog},
        {"cancel", Verb::kCancel},       {"wait", Verb::kWait},
        {"retry", Verb::kRetry},         {"pin", Verb::kPin},
        {"unpin", Verb::kUnpin},         {"show", Verb::kShow},
        {"artifacts", Verb::kArtifacts}, {"hosts", Verb::kHosts},
        {"ksflatten", Verb::kKsflatten}, {"token", Verb::kToken},
    };
    return verbs;
}

void addGlobalOptions(CLI::App& app, GlobalOptions& g) {
    app.add_option("-H,--host", g.host, "Talk to the forwarder at URL over HTTP")->type_name("URL");
    app.add_option("--token-file", g.tokenFile, "Bearer token for -H (default: $IMAGEBUILD_TOKEN)")
        ->type_name("FILE");
    app.add_flag("--json", g.json, "Print JSON (one document, or one per line for streams)");
    app.add_flag("--no-pager", g.noPager, "Do not pipe output into a pager");
    app.add_flag("--no-legend", g.noLegend, "Do not print table headers and the summary line");
    app.add_flag("-q,--quiet", g.quiet, "Print only what scripts need (ids)");
    app.add_flag("--no-ask-password", g.noAskPassword,
                 "Do not ask for polkit authentication on a terminal");
}

void addBuild(CLI::App& app, BuildOptions& b) {
    auto* sub = app.add_subcommand("build", "Flatten a kickstart and submit a build");
    auto* ks = sub->add_option("KS", b.kickstart, "The kickstart file")->type_name("KS");
    auto* config = sub->add_option("--config", b.config,
                                   "A request file of the replaced service (imagebuild.conf)")
                       ->type_name("FILE");
    ks->excludes(config);
    sub->add_option("-t,--type", b.type, "Image type (boot, dvd, live, oemdrv, ...)");
    sub->add_option("-a,--arch", b.arch, "Architecture (x86_64, aarch64, ...)");
    sub->add_option("-r,--release", b.release, "Release to build");
    sub->add_option("--name", b.name, "A name for the image");
    sub->add_option("--notify", b.notify, "E-mail address told at submission and end")
        ->type_name("ADDR")
        ->allow_extra_args(false);
    sub->add_option("--timeout", b.timeoutSec, "Stop the build after SEC seconds")
        ->type_name("SEC")
        ->check(CLI::PositiveNumber);
    sub->add_option("--priority", b.priority,
                    "Queue order, -100 to 100 (default 0; above 0 needs the manage right)")
        ->type_name("N");
    sub->add_option("--label", b.labels, "A label K=V (repeatable)")
        ->type_name("K=V")
        ->allow_extra_args(false);
    sub->add_option("--rpm", b.rpms, "Put this RPM into the build's side repository (repeatable)")
        ->type_name("FILE")
        ->allow_extra_args(false);
    sub->add_option("--repo", b.repos, "Add a repository NAME=URL to the kickstart (repeatable)")
        ->type_name("NAME=URL")
        ->allow_extra_args(false);
    sub->add_flag("--updates", b.updates, "Add the release's updates repository");
    sub->add_flag("--updates-testing", b.updatesTesting,
                  "Add the release's updates-testing repository");
    auto* wait = sub->add_flag("--wait", b.wait, "Wait for the build to end; exit with its result");
    auto* follow = sub->add_flag("--follow", b.follow,
                                 "Stream the log until the build ends; exit with its result");
    wait->excludes(follow);
}

// Ids are "<host>-<n>" (common/build_id.hpp): anything else is a typo, and
// must not reach the journal as a match that silently finds nothing.
const CLI::Validator& buildIdCheck() {
    static const CLI::Validator check(
        [](std::string& value) {
            return BuildId::parse(value)
                       ? std::string()
                       : fmt::format("'{}' is not a build id (expected HOST-N, e.g. builder1-42)",
                                     value);
        },
        "ID", "build id");
    return check;
}

void addReaders(CLI::App& app, Invocation& inv) {
    auto* list = app.add_subcommand("list", "List builds");
    list->add_option("--state", inv.list.states, "Only builds in this state (repeatable)")
        ->check(CLI::IsMember(allBuildStates()))
        ->allow_extra_args(false);
    list->add_flag("-a,--all", inv.list.all,
                   "Include finished builds, and list every build (not only the newest 50)");
    list->add_option("-n,--limit", inv.list.limit,
                     "Show only the newest N builds (default 50; with --all: every one; 0: all)")
        ->type_name("N");

    auto* status = app.add_subcommand("status", "Show a build's state and its last log lines");
    status->add_option("ID", inv.statusId, "Build id")->required()->check(buildIdCheck());

    auto* log = app.add_subcommand("log", "Show a build's log from the journal");
    log->add_option("ID", inv.log.id, "Build id")->required()->check(buildIdCheck());
    log->add_flag("-f,--follow", inv.log.follow, "Follow the log until the build ends");
    log->add_option("-n,--lines", inv.log.lines, "Show only the last N lines")->type_name("N");
    const std::map<std::string, LogFormat> formats{
        {"short", LogFormat::kShort}, {"cat", LogFormat::kCat}, {"json", LogFormat::kJson}};
    log->add_option("-o,--output", inv.log.format, "Output format: short, cat or json")
        ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case));

    auto* show = app.add_subcommand("show", "Show a build's properties");
    show->add_option("ID", inv.show.id, "Build id")->required()->check(buildIdCheck());
    show->add_option("-p,--property", inv.show.properties, "Only this property (repeatable)")
        ->type_name("PROP")
        ->allow_extra_args(false);

    auto* artifacts = app.add_subcommand("artifacts", "List or download a build's artifacts");
    artifacts->add_option("ID", inv.artifacts.id, "Build id")->required()->check(buildIdCheck());
    artifacts->add_option("--download", inv.artifacts.download, "Download them into DIR")
        ->type_name("DIR");

    app.add_subcommand("hosts", "List the fleet's hosts (needs -H)");
}

void addControls(CLI::App& app, Invocation& inv) {
    auto* cancel = app.add_subcommand("cancel", "Cancel builds");
    cancel->add_option("ID", inv.ids, "Build ids")->required()->check(buildIdCheck());
    auto* retry = app.add_subcommand("retry", "Submit a build again with the same spec");
    retry->add_option("ID", inv.retry.id, "Build id")->required()->check(buildIdCheck());
    auto* wait = retry->add_flag("--wait", inv.retry.wait,
                                 "Wait for the new build to end; exit with its result");
    auto* follow =
        retry->add_flag("--follow", inv.retry.follow,
                        "Stream the new build's log until it ends; exit with its result");
    wait->excludes(follow);
    auto* pin = app.add_subcommand("pin", "Keep builds from the host's cleanup (D-Bus only)");
    pin->add_option("ID", inv.ids, "Build ids")->required()->check(buildIdCheck());
    auto* unpin = app.add_subcommand("unpin", "Let the host's cleanup remove builds again");
    unpin->add_option("ID", inv.ids, "Build ids")->required()->check(buildIdCheck());
    auto* waitVerb =
        app.add_subcommand("wait", "Wait for builds to end; exit with the worst result");
    waitVerb->add_option("ID", inv.ids, "Build ids")->required()->check(buildIdCheck());
    addKsflattenCommand(app, inv.ksflatten);
    addTokenCommand(app, inv.token);
}

std::vector<std::string> optionNames(const CLI::App& app) {
    std::vector<std::string> names;
    for (const auto* opt : app.get_options()) {
        for (const auto& l : opt->get_lnames()) {
            names.push_back("--" + l);
        }
        for (const auto& s : opt->get_snames()) {
            names.push_back("-" + s);
        }
    }
    return names;
}

bool isGlobalWithValue(const std::string& arg) {
    return arg == "-H" || arg == "--host" || arg == "--token-file";
}

// CLI11 says "argument not expected"; a person wants "did you mean". Finds
// the first unknown verb or option in args and phrases it with a suggestion.
std::optional<std::string> explainUnknown(const CLI::App& app,
                                          const std::vector<std::string>& args) {
    const CLI::App* verb = nullptr;
    std::string verbName;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& arg = args[i];
        if (arg == "--") {
            break;
        }
        if (arg.size() > 1 && arg[0] == '-') {
            auto name = arg.substr(0, arg.find('='));
            auto known = optionNames(app);
            if (verb) {
                auto own = optionNames(*verb);
                known.insert(known.end(), own.begin(), own.end());
            }
            known.push_back("--help");
            known.push_back("-h");
            known.push_back("--version");
            if (arg.rfind("--", 0) != 0 && arg.size() > 2 && arg.find('=') == std::string::npos) {
                name = arg.substr(0, 2);  // -n10 style
            }
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                auto where = verb ? fmt::format(" for '{}'", verbName) : std::string();
                auto hint = closestMatch(name, known);
                return fmt::format("Unknown option '{}'{}.{}", name, where,
                                   hint ? fmt::format(" Did you mean '{}'?", *hint) : "");
            }
            if (isGlobalWithValue(arg)) {
                ++i;
            }
            continue;
        }
        if (!verb) {
            if (!verbTable().count(arg)) {
                auto hint = closestMatch(arg, verbNames());
                return fmt::format("Unknown verb '{}'.{}", arg,
                                   hint ? fmt::format(" Did you mean '{}'?", *hint)
                                        : " See 'imagebuildctl --help'.");
            }
            verb = app.get_subcommand(arg);
            verbName = arg;
        }
    }
    return std::nullopt;
}

Verb selectedVerb(const CLI::App& app) {
    for (const auto* sub : app.get_subcommands()) {
        return verbTable().at(sub->get_name());
    }
    return Verb::kList;
}

// Rules CLI11 cannot express: which options a build needs depends on
// whether it comes from a request file.
std::optional<std::string> checkBuild(const BuildOptions& b) {
    if (b.kickstart.empty() && b.config.empty()) {
        return "build: give a kickstart file (imagebuildctl build KS --type T --arch A --release "
               "R) "
               "or a request file (--config imagebuild.conf)";
    }
    if (!b.kickstart.empty()) {
        for (auto [value, name] : {std::pair{&b.type, "--type"}, std::pair{&b.arch, "--arch"},
                                   std::pair{&b.release, "--release"}}) {
            if (value->empty()) {
                return fmt::format("build: {} is required with a kickstart file", name);
            }
        }
    }
    return std::nullopt;
}

}  // namespace

const std::vector<std::string>& verbNames() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const auto& [name, verb] : verbTable()) {
            n.push_back(name);
        }
        return n;
    }();
    return names;
}

ParseOutcome parseArguments(const std::vector<std::string>& args) {
    Invocation inv;
    CLI::App app{"Build OS images on imagebuild hosts, locally over D-Bus or remotely with -H.",
                 "imagebuildctl"};
    app.set_version_flag("--version", std::string("imagebuildctl ") + IMAGEBUILD_VERSION);
    app.require_subcommand(1, 1);
    app.fallthrough();  // global options may follow the verb, as with systemctl
    addGlobalOptions(app, inv.global);
    addBuild(app, inv.build);
    addReaders(app, inv);
    addControls(app, inv);

    std::vector<const char*> argv{"imagebuildctl"};
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    ParseOutcome outcome;
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        std::ostringstream out;
        std::ostringstream err;
        if (e.get_exit_code() == 0) {
            app.exit(e, out, err);  // --help, --version
            outcome.out = out.str();
            return outcome;
        }
        auto explained = explainUnknown(app, args);
        outcome.err = (explained ? *explained : std::string(e.what())) + "\n";
        outcome.exitCode = kExitUsage;
        return outcome;
    }
    inv.verb = selectedVerb(app);
    if (inv.verb == Verb::kBuild) {
        if (auto problem = checkBuild(inv.build)) {
            outcome.err = *problem + "\n";
            outcome.exitCode = kExitUsage;
            return outcome;
        }
    }
    outcome.invocation = std::move(inv);
    return outcome;
}

}  // namespace imagebuild::ctl
