import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#endif

/// A child on the terminal (the external editor): spawned with the process's descriptors, an empty signal mask
/// and default signal dispositions (the composer catches SIGTERM, SIGHUP and SIGINT; the child must not inherit
/// that), and waited for.
enum ChildProcess {
  /// The exit status, 128 + the signal for a killed child, or -1 when it could not be started.
  static func run(_ arguments: [String], environment: [String: String]) -> Int32 {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for number in [SIGTERM, SIGHUP, SIGINT, SIGPIPE, SIGWINCH, SIGQUIT] { sigaddset(&defaults, number) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var pid = pid_t()
    guard posix_spawn(&pid, arguments[0], nil, &attributes, argv, envp) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
      guard errno == EINTR else { return -1 }
    }
    let signal = status & 0x7F
    if signal == 0 { return (status >> 8) & 0xFF }
    return 128 + signal
  }
}
