#include "common/argv_template.hpp"

#include <gtest/gtest.h>

using imagebuild::ArgvTemplate;
using imagebuild::ArgvTemplateError;

namespace {
const std::map<std::string, std::string> kValues = {
    {"ks", "/b/ks.cfg"}, {"outdir", "/b/out"}, {"workdir", "/b/work"},      {"arch", "x86_64"},
    {"release", "40"},   {"id", "h-1"},        {"name", "a name; rm -rf /"}};
}

TEST(ArgvTemplate, SubstitutesInsideSingleElements) {
    auto t = ArgvTemplate::parse("mk -o {outdir}/{id}.iso --name {name} '{arch} {release}' {ks}");
    EXPECT_EQ(t.substitute(kValues),
              (std::vector<std::string>{"mk", "-o", "/b/out/h-1.iso", "--name", "a name; rm -rf /",
                                        "x86_64 40", "/b/ks.cfg"}));
}

TEST(ArgvTemplate, ValuesAreNeverSplitOrInterpreted) {
    auto argv = ArgvTemplate::parse("echo {name}").substitute(kValues);
    ASSERT_EQ(argv.size(), 2u);
    EXPECT_EQ(argv[1], "a name; rm -rf /");
}

TEST(ArgvTemplate, QuotesGroupAndAreRemoved) {
    auto t = ArgvTemplate::parse(R"(sh -c "echo 'x y'; exit 3" '' z)");
    EXPECT_EQ(t.elements(), (std::vector<std::string>{"sh", "-c", "echo 'x y'; exit 3", "", "z"}));
}

TEST(ArgvTemplate, RejectsBadTemplates) {
    EXPECT_THROW(ArgvTemplate::parse(""), ArgvTemplateError);
    EXPECT_THROW(ArgvTemplate::parse("   "), ArgvTemplateError);
    EXPECT_THROW(ArgvTemplate::parse("x {nope}"), ArgvTemplateError);
    EXPECT_THROW(ArgvTemplate::parse("x {ks"), ArgvTemplateError);
    EXPECT_THROW(ArgvTemplate::parse("x 'open"), ArgvTemplateError);
}

TEST(ArgvTemplate, MissingValueIsAnError) {
    auto t = ArgvTemplate::parse("x {ks}");
    EXPECT_THROW(t.substitute({}), ArgvTemplateError);
}
