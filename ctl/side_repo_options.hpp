// imagebuildctl build --repo NAME=URL and --rpm FILE: what they put in the
// build spec (repos, rpms).
#pragma once

#include <sdbus-c++/Types.h>

#include <map>
#include <string>
#include <vector>

namespace imagebuild::ctl {

// "NAME=URL" arguments of --repo: each URL http://, https:// or file:///
// (common/side_repos.hpp); throws CtlError (usage) naming the bad one.
std::map<std::string, std::string> parseRepos(const std::vector<std::string>& repos);

// --rpm FILE...: file name -> an fd the agent reads the file from (they go
// with the D-Bus call); a file that cannot be opened, or two of the same
// file name, is CtlError (usage) naming it.
std::map<std::string, sdbus::UnixFd> openRpms(const std::vector<std::string>& paths);

}  // namespace imagebuild::ctl
