// The lint: every warning names the original file and line.
#include "common/kickstart_lint.hpp"

#include <gtest/gtest.h>

using namespace imagebuild::kickstart;

namespace {

std::vector<std::string> lintTree(
    std::initializer_list<std::pair<std::string, std::string>> files) {
    MemorySource source;
    for (const auto& [path, content] : files) {
        source.add(path, content);
    }
    std::vector<std::string> out;
    for (const auto& w : lint(flatten(source, "main.ks"))) {
        out.push_back(w.str());
    }
    return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST(KickstartLint, CleanKickstartHasNoWarnings) {
    EXPECT_EQ(lintTree({{"main.ks", "lang C\n%packages\nvim\n%end\n%post\necho\n%end\n"}}), V{});
}

TEST(KickstartLint, UnknownSection) {
    EXPECT_EQ(lintTree({{"main.ks", "%packages\n%end\n%include a.ks\n"},
                        {"a.ks", "\n%pakages\nvim\n%end\n"}}),
              (V{"a.ks:2: unknown section %pakages (known: %addon, %anaconda, %certificate, "
                 "%onerror, %packages, %post, %pre, %pre-install, %traceback)"}));
}

TEST(KickstartLint, MissingEnd) {
    EXPECT_EQ(lintTree({{"main.ks", "%packages\nvim\n%post\necho\n"}}),
              (V{"main.ks:1: %packages has no %end before %post at main.ks:3",
                 "main.ks:3: %post has no %end before the end of the kickstart"}));
}

TEST(KickstartLint, EndOutsideASection) {
    EXPECT_EQ(lintTree({{"main.ks", "%packages\n%end\n%end\n"}}),
              (V{"main.ks:3: %end without a section to end",
                 "main.ks:3: %end has no %end before the end of the kickstart"}));
}

TEST(KickstartLint, RepeatedSingleUseCommandsPointAtBothPlaces) {
    EXPECT_EQ(lintTree({{"main.ks",
                         "%include a.ks\nlang C\ntext\ngraphical\nrepo --name=a\n"
                         "repo --name=b\n%packages\n%end\n"},
                        {"a.ks", "lang en_US\n"}}),
              (V{"main.ks:2: 'lang' repeats the lang command of a.ks:1; pykickstart keeps only "
                 "the last",
                 "main.ks:4: 'graphical' repeats the display mode (text/graphical/cmdline) "
                 "command of main.ks:3; pykickstart keeps only the last"}));
}

TEST(KickstartLint, NoPackagesSection) {
    EXPECT_EQ(lintTree({{"main.ks", "lang C\n"}}), (V{"main.ks: no %packages section"}));
}

TEST(KickstartLint, CommandsInsideScriptsAreNotCommands) {
    EXPECT_EQ(lintTree({{"main.ks", "lang C\n%post\nlang C\n%end\n%packages\n%end\n"}}), V{});
}
