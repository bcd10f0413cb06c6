// The web interface's files (www/ in the source tree, installed to
// /usr/share/imagebuild/www): pages that name no data of their own (the
// browser fills them from the /v1 API) and the static files under static/.
// A static name is one path segment of safe characters with a known
// extension, opened without following symlinks: nothing else is reachable.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "forwarder/http_types.hpp"

namespace imagebuild::forwarder {

// The Content-Security-Policy of every HTML answer: scripts, styles, images
// and connections from this origin only; no inline script or style, no
// plugins, no framing.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

// CSP, nosniff, no framing, no referrer to other origins.
void addPageSecurityHeaders(Response& response);

// "dashboard.js" -> "text/javascript; charset=utf-8"; nullopt for a name
// that is not a servable static file (bad characters, "..", unknown type).
std::optional<std::string> staticContentType(const std::string& name);

// GET /static/<name>: the file with its type, an ETag (inode, size, mtime),
// Cache-Control: no-cache (revalidate, usually a 304) and If-None-Match; 404
// (JSON) for anything not servable.
Response staticFile(const std::string& wwwDir, const std::string& name, const Request& request);

// Where Debian's libjs-* packages put the JavaScript libraries they ship
// (served at /javascript/, as javascript-common does for Apache).
inline constexpr const char* kDebianJavascriptDir = "/usr/share/javascript";

// GET /javascript/<library>/<name>: a .js or .css file of a Debian
// JavaScript package (the top of its directory), served like a static file, except that
// symlinks in the package's directory are followed (packages link names to
// files, and root owns all of it). 404 (JSON) for anything else: a missing
// package reads as missing, so a page can say what to install.
Response javascriptFile(const std::string& javascriptDir, const std::string& library,
                        const std::string& name, const Request& request);

// An HTML page of wwwDir with "{{> header}}" replaced by wwwDir/header.html
// (the top bar every page shares, trusted markup, not escaped) and every
// "{{key}}" by the HTML-escaped value; 404 page if either file is missing.
// Security headers set, no caching.
Response htmlPage(const std::string& wwwDir, const std::string& file,
                  const std::map<std::string, std::string>& values = {});

// A small self-contained error page (status, escaped message).
Response htmlError(unsigned status, const std::string& message);

}  // namespace imagebuild::forwarder
