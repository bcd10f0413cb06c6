// The flattening rules (docs/kickstart.md), on in-memory trees (MemorySource) and on
// real directories (DiskSource, where "as given" means the working directory).
#include "common/kickstart_flatten.hpp"

#include <gtest/gtest.h>

#include "common/kickstart_lint.hpp"
#include "common/sha256.hpp"
#include "tests/unit/temp_tree.hpp"

using namespace imagebuild::kickstart;
using imagebuild::testing::KickstartTree;

namespace {

MemorySource tree(std::initializer_list<std::pair<std::string, std::string>> files) {
    MemorySource source;
    for (const auto& [path, content] : files) {
        source.add(path, content);
    }
    return source;
}

std::string flat(const FileSource& source, const std::string& root = "main.ks",
                 const Options& options = {}) {
    return flatten(source, root, options).text;
}

// The what() of the KickstartError that flattening throws.
std::string error(const FileSource& source, const std::string& root = "main.ks",
                  const Options& options = {}) {
    try {
        flatten(source, root, options);
    } catch (const KickstartError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(KickstartFlatten, ReplacesIncludeLinesRecursively) {
    auto source = tree({{"main.ks", "lang en_US\n%include a.ks\nreboot\n"},
                        {"a.ks", "# a\n%include sub/b.ks\nkeyboard us\n"},
                        {"sub/b.ks", "timezone UTC\n"}});
    EXPECT_EQ(flat(source), "lang en_US\n# a\ntimezone UTC\nkeyboard us\nreboot\n");
}

TEST(KickstartFlatten, IncludeLineIsSplitLikeShlexAtTopLevel) {
    auto source =
        tree({{"main.ks", "  %include 'my file.ks' # why\n\"%include\" b.ks\n%includex\n"},
              {"my file.ks", "one\n"},
              {"b.ks", "two\n"}});
    EXPECT_EQ(flat(source), "one\ntwo\n%includex\n");
}

TEST(KickstartFlatten, RelativePathsTryAsGivenThenTheIncludersDirectory) {
    // sub/a.ks includes "c.ks": the root-level c.ks wins when it exists...
    auto both = tree({{"main.ks", "%include sub/a.ks\n"},
                      {"sub/a.ks", "%include c.ks\n"},
                      {"c.ks", "top\n"},
                      {"sub/c.ks", "sub\n"}});
    EXPECT_EQ(flat(both), "top\n");
    // ...and sub/c.ks is used when it does not.
    auto onlySub = tree({{"main.ks", "%include sub/a.ks\n"},
                         {"sub/a.ks", "%include c.ks\n"},
                         {"sub/c.ks", "sub\n"}});
    EXPECT_EQ(flat(onlySub), "sub\n");
}

TEST(KickstartFlatten, MissingFileNamesBothPlacesLooked) {
    auto source = tree(
        {{"main.ks", "lang en_US\n%include sub/a.ks\n"}, {"sub/a.ks", "\n%include nothere.ks\n"}});
    EXPECT_EQ(error(source),
              "sub/a.ks:2: %include nothere.ks: no such file (looked for 'nothere.ks' and "
              "'sub/nothere.ks')");
}

TEST(KickstartFlatten, IncludeOfADirectoryIsAnError) {
    auto source = tree({{"main.ks", "%include sub\n"}, {"sub/a.ks", "x\n"}});
    EXPECT_EQ(error(source), "main.ks:1: %include sub: 'sub' is a directory");
}

TEST(KickstartFlatten, IncludeWithoutAFileName) {
    EXPECT_EQ(error(tree({{"main.ks", "\n%include\n"}})), "main.ks:2: %include needs a file name");
    EXPECT_EQ(error(tree({{"main.ks", "%include ''\n"}})), "main.ks:1: %include needs a file name");
}

TEST(KickstartFlatten, CyclesAreNamed) {
    auto source = tree({{"main.ks", "%include a.ks\n"},
                        {"a.ks", "%include b.ks\n"},
                        {"b.ks", "x\n%include a.ks\n"}});
    EXPECT_EQ(error(source), "b.ks:2: %include a.ks: include cycle a.ks -> b.ks -> a.ks");
    auto self = tree({{"main.ks", "%include main.ks\n"}});
    EXPECT_EQ(error(self), "main.ks:1: %include main.ks: include cycle main.ks -> main.ks");
}

TEST(KickstartFlatten, SameFileTwiceIsNotACycleAndIsReadOnce) {
    auto source = tree({{"main.ks", "%include a.ks\n%include a.ks\n"}, {"a.ks", "x\n"}});
    auto result = flatten(source, "main.ks");
    EXPECT_EQ(result.text, "x\nx\n");
    ASSERT_EQ(result.files.size(), 2u);
    EXPECT_EQ(result.files[1].path, "a.ks");
}

TEST(KickstartFlatten, DepthLimit) {
    MemorySource source;
    source.add("main.ks", "%include 1.ks\n");
    for (int i = 1; i <= 17; ++i) {
        source.add(std::to_string(i) + ".ks", "%include " + std::to_string(i + 1) + ".ks\n");
    }
    source.add("18.ks", "end\n");
    EXPECT_EQ(error(source), "16.ks:1: %include 17.ks: include depth limit of 16 exceeded");
    Options deep;
    deep.maxDepth = 18;
    EXPECT_EQ(flat(source, "main.ks", deep), "end\n");
}

TEST(KickstartFlatten, OutputSizeLimit) {
    auto source =
        tree({{"main.ks", "%include a.ks\n%include a.ks\n"}, {"a.ks", "0123456789012345678\n"}});
    Options small;
    small.maxOutputBytes = 30;
    EXPECT_EQ(error(source, "main.ks", small),
              "a.ks:1: the flattened kickstart exceeds the limit of 30 bytes");
    // A single file over the limit is refused before it is read whole.
    small.maxOutputBytes = 25;
    EXPECT_EQ(error(source, "main.ks", small), "main.ks: 'main.ks' is larger than 25 bytes");
}

TEST(KickstartFlatten, IncludeCountLimitStopsExponentialTrees) {
    // Each level includes the next twice: 2^12 includes and no text at all.
    MemorySource source;
    source.add("main.ks", "%include 1.ks\n%include 1.ks\n");
    for (int i = 1; i < 12; ++i) {
        std::string next = "%include " + std::to_string(i + 1) + ".ks\n";
        source.add(std::to_string(i) + ".ks", next + next);
    }
    source.add("12.ks", "");
    // The first 1.ks subtree takes 4095 includes, main's second one is the
    // 4096th, and the first line of the second 1.ks goes over.
    EXPECT_EQ(error(source), "1.ks:1: %include 2.ks: more than 4096 includes processed in all");
}

TEST(KickstartFlatten, NonUtf8AndNulNameTheDirectiveAndTheFile) {
    auto bad = tree({{"main.ks", "lang en_US\n%include a.ks\n"}, {"a.ks", "x\ny\xFFz\n"}});
    EXPECT_EQ(error(bad), "main.ks:2: %include a.ks: a.ks:2: is not valid UTF-8 (byte 0xff)");
    auto nul = tree({{"main.ks", "%include a.ks\n"}, {"a.ks", std::string("x\0y\n", 4)}});
    EXPECT_EQ(error(nul), "main.ks:1: %include a.ks: a.ks:1: contains a NUL byte");
    auto root = tree({{"main.ks", "ok\n\xC3\n"}});
    EXPECT_EQ(error(root), "main.ks:2: is not valid UTF-8 (byte 0xc3)");
}

TEST(KickstartFlatten, MissingRootFile) {
    EXPECT_EQ(error(tree({})), "main.ks: 'main.ks': no such file");
}

TEST(KickstartFlatten, UrlIncludesAreRefused) {
    auto source = tree({{"main.ks", "%include http://example.org/a.ks\n"}});
    EXPECT_EQ(error(source),
              "main.ks:1: %include http://example.org/a.ks: URL includes are not allowed in a "
              "bundle; put the file in the bundle and include it by its relative path");
}

TEST(KickstartFlatten, IncludeInsidePackagesIsFollowed) {
    auto source = tree({{"main.ks", "%packages\n@core\n%include pkgs.ks\n-foo\n%end\n"},
                        {"pkgs.ks", "# list\nvim\n\ngit\n"}});
    EXPECT_EQ(flat(source), "%packages\n@core\n# list\nvim\n\ngit\n-foo\n%end\n");
}

// pykickstart's _readSection handles "%include" inside %pre/%post too: the
// included lines become script text. Its _stateMachine drops the included
// file's leading blank lines and comments on the way in.
TEST(KickstartFlatten, IncludeInsideAScriptIsFollowedAsPykickstartDoes) {
    auto source =
        tree({{"main.ks", "%post --nochroot\necho start\n%include s.sh\necho end\n%end\n"},
              {"s.sh", "#!/bin/sh\n\n# setup\necho one\n\n# kept\necho two"}});
    EXPECT_EQ(flat(source),
              "%post --nochroot\necho start\necho one\n\n# kept\necho two\necho end\n%end\n");
}

TEST(KickstartFlatten, InsideASectionIncludeLinesAreSplitWithoutComments) {
    // shlex.split(line) without comments=True: "#x" stays in the name.
    auto source = tree({{"main.ks", "%post\n%include a.sh#x\n%end\n"}, {"a.sh#x", "echo hash\n"}});
    EXPECT_EQ(flat(source), "%post\necho hash\n%end\n");
    // A quoted "%include" is not a directive inside a section...
    auto quoted = tree({{"main.ks", "%post\n\"%include\" a.sh\n%end\n"}});
    EXPECT_EQ(flat(quoted), "%post\n\"%include\" a.sh\n%end\n");
}

TEST(KickstartFlatten, PercentLinesInScriptsStayText) {
    auto source = tree({{"main.ks", "%post\nprintf '%s\\n' x\n%endx\n  %end\n"}});
    EXPECT_EQ(flat(source), "%post\nprintf '%s\\n' x\n%endx\n  %end\n");
}

TEST(KickstartFlatten, UnbalancedQuoteWherePykickstartSplitsIsAnError) {
    auto top = tree({{"main.ks", "lang en_US\nrootpw \"abc\n"}});
    EXPECT_EQ(error(top),
              "main.ks:2: cannot split the line as pykickstart does: No closing quotation");
    // In a script body only %end/%include/section lines are split.
    auto script = tree({{"main.ks", "%post\necho \"abc\n%end\n"}});
    EXPECT_EQ(flat(script), "%post\necho \"abc\n%end\n");
}

TEST(KickstartFlatten, SectionsMustEndInTheFileThatStartsThem) {
    auto open = tree({{"main.ks", "%include a.ks\nlang en_US\n"}, {"a.ks", "x\n%post\necho\n"}});
    EXPECT_EQ(error(open),
              "a.ks:2: %post has no %end in this file; a section must end in the file that "
              "starts it");
    auto closes =
        tree({{"main.ks", "%packages\n%include a.ks\nvim\n%end\n"}, {"a.ks", "git\n%end\n"}});
    EXPECT_EQ(error(closes),
              "a.ks:2: %end here ends %packages started at main.ks:1, in another file; a section "
              "must end in the file that starts it");
}

TEST(KickstartFlatten, KsappendIsReplacedVerbatimInTheRootFileOnly) {
    // As given (not relative to the root's directory), anywhere in the root
    // file (in a section too), content not preprocessed again; a missing
    // final newline joins the next line, as in pykickstart's temporary file.
    auto source =
        tree({{"dir/main.ks", "lang en_US\n%ksappend extra.ks\n%post\n %ksappend post.sh\n%end\n"},
              {"extra.ks", "keyboard us\n%include dir/inc.ks\n"},
              {"dir/inc.ks", "timezone UTC\n"},
              {"post.sh", "echo -n a"}});
    auto result = flatten(source, "dir/main.ks");
    EXPECT_EQ(result.text, "lang en_US\nkeyboard us\ntimezone UTC\n%post\necho -n a%end\n");
    // Every line points at its original file and line.
    ASSERT_EQ(result.origins.size(), 5u);
    EXPECT_EQ(result.files[result.origins[1].file].path, "extra.ks");
    EXPECT_EQ(result.origins[1].line, 1u);
    EXPECT_EQ(result.files[result.origins[2].file].path, "dir/inc.ks");
    EXPECT_EQ(result.files[result.origins[3].file].path, "dir/main.ks");
    EXPECT_EQ(result.origins[3].line, 3u);
    EXPECT_EQ(result.files[result.origins[4].file].path, "post.sh");
}

TEST(KickstartFlatten, KsappendErrors) {
    EXPECT_EQ(error(tree({{"main.ks", "%ksappend\n"}})),
              "main.ks:1: %ksappend needs a file name after a space");
    EXPECT_EQ(error(tree({{"main.ks", "%ksappend  x\n"}})),
              "main.ks:1: %ksappend needs a file name after a single space");
    EXPECT_EQ(error(tree({{"main.ks", "x\n%ksappend no.ks\n"}})),
              "main.ks:2: %ksappend no.ks: 'no.ks': no such file");
    // Not a directive outside the root: pykickstart ignores it at top level
    // and keeps it as text in a section, where a flattened file would turn
    // it into a directive.
    auto ignored = tree({{"main.ks", "%include a.ks\n"}, {"a.ks", "%ksappend x.ks\nlang C\n"}});
    EXPECT_EQ(flat(ignored), "lang C\n");
    auto text = tree({{"main.ks", "%include a.ks\n"}, {"a.ks", "%post\n%ksappend x.ks\n%end\n"}});
    EXPECT_EQ(error(text),
              "a.ks:2: %ksappend is only a directive in the root kickstart; here it is text that "
              "would become a directive once flattened");
}

TEST(KickstartFlatten, LastLineOfAnIncludedFileStaysALine) {
    auto source = tree({{"main.ks", "%include a.ks\nreboot"}, {"a.ks", "lang C"}});
    EXPECT_EQ(flat(source), "lang C\nreboot");
}

TEST(KickstartFlatten, UniversalNewlinesAreNormalized) {
    auto source = tree({{"main.ks", "lang C\r\n%include a.ks\rreboot\r\n"}, {"a.ks", "x\r\n"}});
    EXPECT_EQ(flat(source), "lang C\nx\nreboot\n");
}

TEST(KickstartFlatten, RecordsEveryFileWithItsSha256) {
    auto source = tree({{"main.ks", "%include a.ks\n"}, {"a.ks", "abc"}});
    auto result = flatten(source, "main.ks");
    ASSERT_EQ(result.files.size(), 2u);
    EXPECT_EQ(result.files[0].path, "main.ks");
    EXPECT_EQ(result.files[0].size, 14u);
    EXPECT_EQ(result.files[1].sha256,
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(result.files[0].sha256, imagebuild::sha256Hex("%include a.ks\n"));
}

TEST(KickstartFlatten, UnknownSectionIsReadUntilEnd) {
    // As pykickstart with unknownSectionIsFatal=False: %include in it is followed.
    auto source = tree({{"main.ks", "%mine\n%include a.ks\n%end\n"}, {"a.ks", "x\n"}});
    EXPECT_EQ(flat(source), "%mine\nx\n%end\n");
}

TEST(KickstartFlattenDisk, AsGivenMeansTheWorkingDirectory) {
    KickstartTree dir;
    dir.write("ks/main.ks", "%include common.ks\n%include ks/parts/p.ks\n");
    dir.write("ks/common.ks", "lang C\n");
    dir.write("ks/parts/p.ks", "%include ../common.ks\n");
    dir.write("common.ks", "from-cwd\n");
    dir.enter();
    DiskSource disk;
    // "common.ks" exists in the working directory, so that one is used; the
    // "../common.ks" of ks/parts/p.ks does not exist there and is found next
    // to p.ks.
    auto result = flatten(disk, "ks/main.ks");
    EXPECT_EQ(result.text, "from-cwd\nlang C\n");
    EXPECT_EQ(result.files.back().path, "ks/parts/../common.ks");
}

TEST(KickstartFlattenDisk, AbsolutePathsWorkOutsideABundle) {
    KickstartTree dir;
    dir.write("a.ks", "lang C\n");
    dir.write("main.ks", "%include " + dir.path("a.ks").string() + "\n");
    DiskSource disk;
    EXPECT_EQ(flat(disk, dir.path("main.ks").string()), "lang C\n");
}

// Found by the fuzzer: "." is the root directory, never a file.
TEST(KickstartFlatten, IncludeOfTheRootDirectory) {
    EXPECT_EQ(error(tree({{"main.ks", "%include .\n"}})),
              "main.ks:1: %include .: '.' is a directory");
    EXPECT_THROW(tree({{"", "x"}}), std::invalid_argument);
    EXPECT_THROW(tree({{"../x", "x"}}), std::invalid_argument);
}

// The first line of a file included in a section goes through _stateMachine:
// split with comments, so a quoted "%include" there is followed.
TEST(KickstartFlatten, FirstLineOfAFileIncludedInASectionIsSplitLikeTopLevel) {
    auto source = tree({{"main.ks", "%post\n%include a.sh\n%end\n"},
                        {"a.sh", "\n\"%include\" b.sh # comment\necho a\n"},
                        {"b.sh", "echo b\n"}});
    EXPECT_EQ(flat(source), "%post\necho b\necho a\n%end\n");
}

TEST(KickstartFlatten, AHeaderEndsAnUnterminatedSectionInTheSameFile) {
    auto source =
        tree({{"main.ks", "%packages\nvim\n%post\n%include a.sh\n%end\n"}, {"a.sh", "echo a\n"}});
    EXPECT_EQ(flat(source), "%packages\nvim\n%post\necho a\n%end\n");
}

TEST(KickstartFlattenDisk, UrlIncludesAreNotFetched) {
    KickstartTree dir;
    dir.write("main.ks", "lang C\n%include https://example.org/x.ks\n");
    dir.enter();
    DiskSource disk;
    EXPECT_EQ(error(disk),
              "main.ks:2: %include https://example.org/x.ks: URL includes are not fetched; "
              "download the file and include it by path");
}

TEST(KickstartFlatten, KsappendOriginsAcrossAJoinedLine) {
    auto source = tree({{"main.ks", "a\nb\n%ksappend x\nc\nd\n"}, {"x", "X1\nX2"}});
    auto result = flatten(source, "main.ks");
    EXPECT_EQ(result.text, "a\nb\nX1\nX2c\nd\n");
    std::vector<std::string> where;
    for (const auto& o : result.origins) {
        where.push_back(result.files[o.file].path + ":" + std::to_string(o.line));
    }
    EXPECT_EQ(where,
              (std::vector<std::string>{"main.ks:1", "main.ks:2", "x:1", "x:2", "main.ks:5"}));
}

// A tree shaped like fedora-kickstarts (workstation -> live-base -> repo ->
// repo-rawhide, plus a common file), written here, flattened byte for byte.
namespace {

void writeFedoraTree(const KickstartTree& dir) {
    dir.write("fedora-live-workstation.ks",
              "# Workstation live image, maintained by the Workstation WG\n"
              "\n"
              "%include fedora-live-base.ks\n"
              "%include fedora-workstation-common.ks\n"
              "#\n"
              "# Off while packagekit leaves gpg-agent running during composes:\n"
              "#include snippets/packagekit-cached-metadata.ks\n"
              "\n"
              "part / --size 6656\n"
              "\n"
              "%post\n"
              "cat >> /var/lib/livesys/livesys-session-extra << EOF\n"
              "gsettings set org.gnome.shell favorite-apps \"['firefox.desktop']\"\n"
              "EOF\n"
              "%end\n");
    dir.write("fedora-live-base.ks",
              "# fedora-live-base.ks: the basics of every live image\n"
              "lang en_US.UTF-8\n"
              "keyboard us\n"
              "timezone US/Eastern\n"
              "selinux --enforcing\n"
              "firewall --enabled --service=mdns\n"
              "zerombr\n"
              "clearpart --all\n"
              "part / --size 5120 --fstype ext4\n"
              "rootpw --lock --iscrypted locked\n"
              "shutdown\n"
              "\n"
              "%include fedora-repo.ks\n"
              "\n"
              "%packages\n"
              "kernel\n"
              "kernel-modules\n"
              "# the point of a live image is to install\n"
              "anaconda\n"
              "@anaconda-tools\n"
              "-fcoe-utils\n"
              "dracut-live\n"
              "%end\n"
              "\n"
              "%post\n"
              "# livesys services\n"
              "systemctl enable livesys.service\n"
              "\n"
              "rpm -qa --qf '%{size}\\t%{name}\\n' | sort -rn\n"
              "%end\n");
    dir.write("fedora-repo.ks", "%include fedora-repo-rawhide.ks\n");
    dir.write("fedora-repo-rawhide.ks",
              "repo --name=rawhide "
              "--mirrorlist=https://mirrors.example.org/mirrorlist?repo=rawhide&arch=$basearch\n");
    dir.write("fedora-workstation-common.ks",
              "%packages\n"
              "@^workstation-product-environment\n"
              "-@dial-up\n"
              "%end\n"
              "\n"
              "%post --nochroot\n"
              "%include snippets/copy-logs.sh\n"
              "%end\n");
    dir.write("snippets/copy-logs.sh",
              "#!/bin/sh\n"
              "# leading comments of a script fragment are dropped by pykickstart\n"
              "cp /tmp/*.log $INSTALL_ROOT/var/log/\n");
}

const char* const kExpected =
    "# Workstation live image, maintained by the Workstation WG\n"
    "\n"
    "# fedora-live-base.ks: the basics of every live image\n"
    "lang en_US.UTF-8\n"
    "keyboard us\n"
    "timezone US/Eastern\n"
    "selinux --enforcing\n"
    "firewall --enabled --service=mdns\n"
    "zerombr\n"
    "clearpart --all\n"
    "part / --size 5120 --fstype ext4\n"
    "rootpw --lock --iscrypted locked\n"
    "shutdown\n"
    "\n"
    "repo --name=rawhide "
    "--mirrorlist=https://mirrors.example.org/mirrorlist?repo=rawhide&arch=$basearch\n"
    "\n"
    "%packages\n"
    "kernel\n"
    "kernel-modules\n"
    "# the point of a live image is to install\n"
    "anaconda\n"
    "@anaconda-tools\n"
    "-fcoe-utils\n"
    "dracut-live\n"
    "%end\n"
    "\n"
    "%post\n"
    "# livesys services\n"
    "systemctl enable livesys.service\n"
    "\n"
    "rpm -qa --qf '%{size}\\t%{name}\\n' | sort -rn\n"
    "%end\n"
    "%packages\n"
    "@^workstation-product-environment\n"
    "-@dial-up\n"
    "%end\n"
    "\n"
    "%post --nochroot\n"
    "cp /tmp/*.log $INSTALL_ROOT/var/log/\n"
    "%end\n"
    "#\n"
    "# Off while packagekit leaves gpg-agent running during composes:\n"
    "#include snippets/packagekit-cached-metadata.ks\n"
    "\n"
    "part / --size 6656\n"
    "\n"
    "%post\n"
    "cat >> /var/lib/livesys/livesys-session-extra << EOF\n"
    "gsettings set org.gnome.shell favorite-apps \"['firefox.desktop']\"\n"
    "EOF\n"
    "%end\n";

}  // namespace

TEST(KickstartFedoraTree, FlattensByteForByteFromTheWorkingDirectory) {
    KickstartTree dir;
    writeFedoraTree(dir);
    dir.enter();
    DiskSource disk;
    auto result = flatten(disk, "fedora-live-workstation.ks");
    EXPECT_EQ(result.text, kExpected);
    std::vector<std::string> paths;
    for (const auto& f : result.files) {
        paths.push_back(f.path);
    }
    EXPECT_EQ(paths,
              (std::vector<std::string>{"fedora-live-workstation.ks", "fedora-live-base.ks",
                                        "fedora-repo.ks", "fedora-repo-rawhide.ks",
                                        "fedora-workstation-common.ks", "snippets/copy-logs.sh"}));
    EXPECT_TRUE(lint(result).empty());
}

TEST(KickstartFedoraTree, SameBytesAsABundleFromAnotherDirectory) {
    KickstartTree dir;
    writeFedoraTree(dir);
    BundleSource bundle(dir.root());
    auto result = flatten(bundle, "fedora-live-workstation.ks");
    EXPECT_EQ(result.text, kExpected);
    // The repo line comes from fedora-repo-rawhide.ks, line 1.
    ASSERT_GT(result.origins.size(), 14u);
    EXPECT_EQ(result.files[result.origins[14].file].path, "fedora-repo-rawhide.ks");
    EXPECT_EQ(result.origins[14].line, 1u);
}

TEST(KickstartFedoraTree, FromAnotherWorkingDirectoryIncludesResolveNextToTheIncluder) {
    KickstartTree dir;
    writeFedoraTree(dir);
    KickstartTree elsewhere;
    elsewhere.enter();
    DiskSource disk;
    auto result = flatten(disk, dir.path("fedora-live-workstation.ks").string());
    EXPECT_EQ(result.text, kExpected);
}
