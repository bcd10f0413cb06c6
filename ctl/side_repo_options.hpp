// imagebuildctl build --repo NAME=URL and --rpm FILE: what they put in the
// build spec (repos, rpms).
#pragma once

#include <sdbus-c++/Types.h>

#include <map>

#include <string>
#include <vector>
#include "common/build_spec.hpp"
#include "common/multipart_form.hpp"

namespace imagebuild::ctl {

// "NAME=URL" arguments of --repo: each URL http://, https:// or file:///
// (common/side_repos.hpp); throws CtlError (usage) naming the bad one.
std::map<std::string, std::string> parseRepos(const std::vector<std::string>& repos);

// --rpm FILE...: file name -> an fd the agent reads the file from (they go
// with the D-Bus call); a file that cannot be opened, or two of the same
// file name, is CtlError (usage) naming it.
std::map<std::string, sdbus::UnixFd> openRpms(const std::vector<std::string>& paths);

// POST /v1/builds of a spec with side RPMs (-H): a form of the spec as JSON
// (`spec`) and each file read from its fd (`rpm`, named as given). A file
// that cannot be read is CtlError naming it.
MultipartBody submitFormOf(const BuildSpec& spec);

}  // namespace imagebuild::ctl
