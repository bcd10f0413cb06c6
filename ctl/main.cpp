// imagebuildctl: everything lives in the ctl library (verbs.hpp).
#include <string>
#include <vector>

#include "ctl/verbs.hpp"

int main(int argc, char* argv[]) {
    return imagebuild::ctl::run(std::vector<std::string>(argv + 1, argv + argc));
}
