// The monitor page for browsers: no framework, escaped everywhere; the log so
// far is in the page (so a finished build needs no JavaScript), a running one
// follows live with EventSource from the last cursor on (static/monitor.js:
// the page carries the web interface's Content-Security-Policy, so no inline
// script or style).
#pragma once

#include <string>

#include "common/build_info.hpp"

namespace imagebuild::forwarder {

std::string htmlEscape(const std::string& text);

// Everything up to and including the opening <pre> of the log.
std::string monitorPageHead(const BuildInfo& build);
// Closes the log; `lastCursor` is where live following starts.
std::string monitorPageTail(const BuildInfo& build, const std::string& lastCursor, bool empty);

// What a build with no output yet says instead of a blank page.
std::string stateSentence(const BuildInfo& build);

}  // namespace imagebuild::forwarder
