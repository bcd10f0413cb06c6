// Asks journald to store everything it has received: journalctl --sync,
// through the same call (io.systemd.Journal.Synchronize over varlink on
// /run/systemd/journal/io.systemd.journal, systemd 246 and later). journald
// answers only after it has processed every message queued before the
// call, so lines written by processes that are gone are then readable.
// Root only (the socket is 0600).
#pragma once

#include <string>

namespace imagebuild {

// "" on success, else why not.
std::string syncJournal();

}  // namespace imagebuild
