// Names of the D-Bus contract (dbus/*.xml), in one place for every binary.
#pragma once

namespace imagebuild::dbus_names {

inline constexpr const char* kBusName = "org.imagebuild.Agent1";
inline constexpr const char* kManagerPath = "/org/imagebuild/Agent1";
inline constexpr const char* kBuildPathPrefix = "/org/imagebuild/Agent1/build";
inline constexpr const char* kManagerInterface = "org.imagebuild.BuildManager1";
inline constexpr const char* kBuildInterface = "org.imagebuild.Build1";

// Named errors. Every failure that crosses the bus is one of these, with a
// message a person can act on.
namespace error {
inline constexpr const char* kInvalidSpec = "org.imagebuild.Error.InvalidSpec";
inline constexpr const char* kNotFound = "org.imagebuild.Error.NotFound";
inline constexpr const char* kAccessDenied = "org.imagebuild.Error.AccessDenied";
inline constexpr const char* kUnsupported = "org.imagebuild.Error.Unsupported";
inline constexpr const char* kQueueFull = "org.imagebuild.Error.QueueFull";
inline constexpr const char* kAlreadyFinished = "org.imagebuild.Error.AlreadyFinished";
inline constexpr const char* kInternal = "org.imagebuild.Error.Internal";
// A filesystem of the agent is full or below [host] min_free; the message
// names it and its free space.
inline constexpr const char* kNoSpace = "org.imagebuild.Error.NoSpace";
// The agent's configuration file is invalid; the message says file:line.
inline constexpr const char* kConfigInvalid = "org.imagebuild.Error.ConfigInvalid";
// An uploaded side RPM is refused (not an RPM, a source package, another
// arch, the same package twice); the message names the file.
inline constexpr const char* kInvalidPackage = "org.imagebuild.Error.InvalidPackage";
// The side RPMs weigh more than [repositories] max_upload.
inline constexpr const char* kUploadTooLarge = "org.imagebuild.Error.UploadTooLarge";
}  // namespace error

}  // namespace imagebuild::dbus_names
