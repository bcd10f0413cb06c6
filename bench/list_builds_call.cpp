// Times BuildManager1.ListBuilds the way a client makes the call: an
// sdbus-c++ proxy on the system bus, the rows decoded into the same type
// imagebuildctl uses. Prints the best and the median of RUNS calls, in ms,
// and the number of rows. Run inside a host where the agent serves.
//
// usage: bench-list-builds-call [RUNS]
#include <sdbus-c++/sdbus-c++.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <vector>

#include "common/build_info.hpp"
#include "common/dbus_names.hpp"

int main(int argc, char** argv) {
    namespace names = imagebuild::dbus_names;
    int runs = argc > 1 ? std::atoi(argv[1]) : 10;
    auto connection = sdbus::createSystemBusConnection();
    auto proxy = sdbus::createProxy(*connection, names::kBusName, names::kManagerPath);
    proxy->finishRegistration();
    std::vector<double> ms;
    std::size_t rows = 0;
    for (int i = 0; i < std::max(runs, 1); ++i) {
        auto t0 = std::chrono::steady_clock::now();
        std::vector<imagebuild::BuildListRow> result;
        proxy->callMethod("ListBuilds")
            .onInterface(names::kManagerInterface)
            .withArguments(std::map<std::string, sdbus::Variant>{})
            .storeResultsTo(result);
        auto t1 = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        rows = result.size();
    }
    std::sort(ms.begin(), ms.end());
    fmt::print("{:.1f} {:.1f} {}\n", ms.front(), ms[ms.size() / 2], rows);
}
