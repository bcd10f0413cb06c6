// bench driver: copies SOURCE to DESTINATION with copyFileHashing() and
// prints the SHA-256, so the script can check it against sha256sum's.
#include <iostream>

#include "common/hashed_copy.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: bench-hashed-copy SOURCE DESTINATION\n";
        return 2;
    }
    try {
        auto digest = imagebuild::copyFileHashing(argv[1], argv[2]);
        std::cout << digest.sha256 << "\n";
    } catch (const std::exception& e) {
        std::cerr << "bench-hashed-copy: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
