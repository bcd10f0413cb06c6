// The text of a file of the source tree (a doc the tests check against the
// code), IMAGEBUILD_SOURCE_ROOT-relative; a test failure if it is empty.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

inline std::string readDoc(const std::string& relative) {
    std::ifstream in(std::string(IMAGEBUILD_SOURCE_ROOT) + "/" + relative);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_FALSE(text.str().empty()) << relative;
    return text.str();
}
