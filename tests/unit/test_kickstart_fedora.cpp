// A tree shaped like fedora-kickstarts (workstation -> live-base -> repo ->
// repo-rawhide, plus a common file), written here, flattened byte for byte.
#include <gtest/gtest.h>

#include "common/kickstart_flatten.hpp"
#include "common/kickstart_lint.hpp"
#include "tests/unit/temp_tree.hpp"

using namespace imagebuild::kickstart;
using imagebuild::testing::KickstartTree;

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
