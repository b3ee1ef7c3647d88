import FoundationEssentials
import MailMessage

#if canImport(Glibc)
  import Glibc
#endif

/// Runs `/bin/sh -c COMMAND` for a secret: `SEALPOST_PASSWORD` removed from its environment (DESIGN §3.5), stdin
/// empty, stderr passed through, stdout captured (at most 64 KiB) and never shown, one trailing newline removed.
public enum ShellCommand {
  public enum Failure: Error, Sendable, Hashable {
    case couldNotStart
    /// Ended with this exit status (127: the shell did not find the program).
    case exitStatus(Int32)
    /// Killed by a signal.
    case signal(Int32)
    /// Wrote more than the limit.
    case tooLong
    /// Stopped because the send it serves was cancelled.
    case cancelled
    /// Ran out of the time it was given.
    case timedOut
  }

  /// What may end a command early (issue 8): the send it serves is cancelled, or its time runs out. The command
  /// runs in a process group of its own, and the whole group is killed, so nothing it started lives on.
  public struct Bounds: Sendable {
    /// Becomes readable when the command must stop; -1 for none.
    public var stopDescriptor: Int32
    /// Milliseconds left; nil for no limit.
    public var millisecondsLeft: @Sendable () -> Int32?

    public init(stopDescriptor: Int32 = -1, millisecondsLeft: @escaping @Sendable () -> Int32? = { nil }) {
      self.stopDescriptor = stopDescriptor
      self.millisecondsLeft = millisecondsLeft
    }

    public static let none = Bounds()
  }

  static let outputLimit = 64 * 1024

  /// - Parameters:
  ///   - command: the shell text.
  ///   - arguments: `$1`, `$2`… for the command, so values need no quoting.
  ///   - environment: the child's environment; `SEALPOST_PASSWORD` is removed from it whatever the caller passes.
  ///   - bounds: cancellation and deadline; on either the command's process group is killed.
  public static func run(
    _ command: String, arguments: [String] = [], environment: [String: String], bounds: Bounds = .none
  ) -> Result<[UInt8], Failure> {
    var environment = environment
    environment.removeValue(forKey: "SEALPOST_PASSWORD")
    // posix_spawn and waitpid directly: Foundation's Process waits for the child by polling a run loop, which
    // added ~50 ms to every send with a password command (measured with Tests/bench/send-latency.sh).
    var pipeEnds: [Int32] = [-1, -1]
    guard makeCloseOnExecPipe(&pipeEnds) else { return .failure(.couldNotStart) }
    let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
    defer { close(readEnd) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
    closeOtherDescriptors(&actions, keeping: writeEnd)

    // A process group of its own (so a cancel kills whatever it started), default signal handling and an
    // empty signal mask (Sealpost ignores SIGPIPE and may block others; the command must not inherit that).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for number in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTTIN, SIGTTOU] {
      sigaddset(&defaults, number)
    }
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(
      &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv = ["/bin/sh", "-c", command, "sh"] + arguments
    let envp = environment.map { "\($0.key)=\($0.value)" }
    var pid: pid_t = 0
    let spawned = withCStrings(argv) { argvPointers in
      withCStrings(envp) { envPointers in
        posix_spawn(&pid, "/bin/sh", &actions, &attributes, argvPointers, envPointers)
      }
    }
    close(writeEnd)
    guard spawned == 0 else { return .failure(.couldNotStart) }
    // A command that asks on the terminal (a pinentry) needs to be its foreground group while it runs.
    let terminal = ForegroundTerminal.handOver(to: pid)
    defer { terminal?.takeBack() }

    var bytes: [UInt8] = []
    var stopped: Failure?
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      var fds = [
        pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: bounds.stopDescriptor, events: Int16(POLLIN), revents: 0),
      ]
      let timeout = bounds.millisecondsLeft() ?? -1
      if timeout == 0 {
        stopped = .timedOut
        break
      }
      let ready = poll(&fds, 2, timeout)
      if ready < 0 && errno == EINTR { continue }
      if fds[1].revents != 0 {
        stopped = .cancelled
        break
      }
      if ready == 0 { continue }  // the time left is computed again above
      let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
      if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
      if count <= 0 { break }
      if bytes.count + count > outputLimit {
        stopped = .tooLong
        break
      }
      bytes.append(contentsOf: chunk[0..<count])
    }
    chunk.resetAll()
    // The whole group: `sh -c 'a; b'` may have started children that would outlive the shell.
    if stopped != nil { kill(-pid, SIGKILL) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    if let stopped {
      bytes.resetAll()
      return .failure(stopped)
    }
    // WIFSIGNALED / WEXITSTATUS are macros: the low 7 bits hold the signal, the next byte the exit status.
    let signal = status & 0x7F
    if signal != 0 {
      bytes.resetAll()
      return .failure(.signal(signal))
    }
    let exitStatus = (status >> 8) & 0xFF
    guard exitStatus == 0 else {
      bytes.resetAll()
      return .failure(.exitStatus(exitStatus))
    }
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    return .success(bytes)
  }

  /// `signal 9 (SIGKILL)`: how a failure by a signal is worded.
  public static func describe(signal: Int32) -> String {
    let names: [Int32: String] = [
      SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
      SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
      SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
      SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGVTALRM: "SIGVTALRM", SIGPROF: "SIGPROF", SIGSYS: "SIGSYS",
    ]
    return names[signal].map { "signal \(signal) (\($0))" } ?? "signal \(signal)"
  }

  /// The first executable `name` in the directories of `path` (a `PATH` value; empty entries are the current
  /// directory, as for the shell), or nil.
  /// POSIX shell built-ins and special built-ins: words `sh -c` runs without a file on PATH.
  static let builtins: Set<String> = [
    ".", ":", "[", "alias", "bg", "break", "cd", "command", "continue", "echo", "eval", "exec", "exit",
    "export",
    "false", "fc", "fg", "getopts", "hash", "jobs", "kill", "newgrp", "printf", "pwd", "read", "readonly",
    "return", "set", "shift", "test", "times", "trap", "true", "type", "ulimit", "umask", "unalias", "unset",
    "wait",
  ]

  /// True for a command that is one word naming no program on `path` and no shell built-in, and holding
  /// nothing the shell would expand, quote, redirect or find by path: what a password typed where a command
  /// belongs looks like. Run, the shell would print it back ("sh: 1: WORD: not found", red team), so it is
  /// refused instead.
  public static func namesNoProgram(_ command: String, path: String?) -> Bool {
    let word = command.trimmingSpacesAndTabs()
    guard !word.isEmpty, !word.contains(where: { $0 == " " || $0 == "\t" }) else { return false }
    if word.contains(where: { "$~=(){};|&<>`'\"\\*?[/#".contains($0) }) { return false }
    return !builtins.contains(word) && findProgram(word, path: path) == nil
  }

  public static func findProgram(_ name: String, path: String?) -> String? {
    for directory in (path ?? "/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false) {
      let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
      var info = stat()
      if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
        return candidate
      }
    }
    return nil
  }

  /// Neither end may leak into another child spawned meanwhile by another thread (it would hold the write end
  /// open and our read would wait for that child): `pipe2(O_CLOEXEC)` sets the flag atomically. Swift's Glibc
  /// module does not export `pipe2`, so it is looked up at run time, with `pipe` + `fcntl` as the fallback.
  private static func makeCloseOnExecPipe(_ ends: inout [Int32]) -> Bool {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") {
      let pipe2 = unsafeBitCast(symbol, to: Pipe2.self)
      return ends.withUnsafeMutableBufferPointer { buffer in
        guard let base = buffer.baseAddress else { return false }
        return pipe2(base, O_CLOEXEC) == 0
      }
    }
    guard pipe(&ends) == 0 else { return false }
    _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    return true
  }

  /// Nothing else of ours reaches the child: not a socket of another session, not a descriptor a library left
  /// inheritable. glibc ≥ 2.34 has `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does
  /// not export: it is looked up at run time; without it, each descriptor open now is closed one by one.
  private static func closeOtherDescriptors(_ actions: inout posix_spawn_file_actions_t, keeping: Int32) {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
    {
      let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
      if closeFrom(&actions, 3) == 0 { return }
    }
    guard let directory = opendir("/proc/self/fd") else { return }
    defer { closedir(directory) }
    let own = dirfd(directory)
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) {
        String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard let descriptor = Int32(name), descriptor > 2, descriptor != own, descriptor != keeping else {
        continue
      }
      posix_spawn_file_actions_addclose(&actions, descriptor)
    }
  }

  /// Calls `body` with a NULL-terminated array of C strings that live for the call.
  private static func withCStrings<R>(
    _ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R
  ) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
  }
}

/// The controlling terminal handed to a command's process group while it runs, as a shell does for a foreground
/// job, when Sealpost itself is the terminal's foreground group; otherwise nothing is done.
private struct ForegroundTerminal {
  let descriptor: Int32
  let group: pid_t

  static func handOver(to child: pid_t) -> ForegroundTerminal? {
    let descriptor = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    let group = getpgrp()
    guard tcgetpgrp(descriptor) == group else {
      close(descriptor)
      return nil
    }
    withoutTTOU { _ = tcsetpgrp(descriptor, child) }
    // It may have stopped on SIGTTIN before it became the foreground group.
    kill(-child, SIGCONT)
    return ForegroundTerminal(descriptor: descriptor, group: group)
  }

  func takeBack() {
    Self.withoutTTOU { _ = tcsetpgrp(descriptor, group) }
    close(descriptor)
  }

  /// tcsetpgrp from a background group raises SIGTTOU; ignore it for the call.
  private static func withoutTTOU(_ body: () -> Void) {
    var ignore = sigaction()
    ignore.__sigaction_handler.sa_handler = SIG_IGN
    sigemptyset(&ignore.sa_mask)
    var previous = sigaction()
    sigaction(SIGTTOU, &ignore, &previous)
    body()
    sigaction(SIGTTOU, &previous, nil)
  }
}

extension [UInt8] {
  /// Overwrites the bytes before letting them go, so a secret does not linger in freed memory.
  mutating func resetAll() {
    for index in indices { self[index] = 0 }
    removeAll()
  }
}
