// An image type's command line: a list of argv elements, each of which may
// hold placeholders ({ks}, {outdir}, {workdir}, {arch}, {release}, {id},
// {name}). A substituted value always stays inside the element it was in:
// it is never split, never globbed, never seen by a shell.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace imagebuild {

class ArgvTemplateError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ArgvTemplate {
public:
    // Splits on blanks; "double" or 'single' quotes keep blanks inside one
    // element. Throws ArgvTemplateError for an empty command, an unclosed
    // quote or an unknown placeholder (the message lists the known ones).
    static ArgvTemplate parse(std::string_view command);

    const std::vector<std::string>& elements() const { return elements_; }

    // Every placeholder replaced by values.at(name); throws
    // ArgvTemplateError if a value is missing.
    std::vector<std::string> substitute(const std::map<std::string, std::string>& values) const;

    static const std::vector<std::string>& placeholders();

private:
    std::vector<std::string> elements_;
};

}  // namespace imagebuild
