import CNCursesW

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A pseudo-terminal pair for driving the backend without a real terminal: the backend reads and writes
/// ``terminal``; a test or the benchmark types into ``controller`` and reads there what the backend drew.
/// Test support kept in this module because only it may touch the C shim that wraps `openpty`.
public final class PseudoTerminal {
  public private(set) var controller: Int32
  public let terminal: Int32

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  public init(width: Int, height: Int) throws(Failure) {
    var controller: Int32 = -1
    var terminal: Int32 = -1
    guard
      sealpost_openpty(
        &controller, &terminal, UInt16(clamping: height), UInt16(clamping: width)) == 0
    else {
      throw Failure(description: "openpty failed: \(String(cString: strerror(errno)))")
    }
    self.controller = controller
    self.terminal = terminal
    _ = fcntl(controller, F_SETFL, fcntl(controller, F_GETFL) | O_NONBLOCK)
  }

  deinit {
    if controller >= 0 { close(controller) }
    close(terminal)
  }

  /// Closes the controller side, as a terminal emulator that quits does: the backend sees a hang-up.
  public func hangUp() {
    if controller >= 0 { close(controller) }
    controller = -1
  }

  /// Types `bytes` as the terminal's keyboard would.
  public func type(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { write(controller, $0.baseAddress, $0.count) }
      if written <= 0 {
        if errno == EAGAIN || errno == EINTR { continue }
        return
      }
      offset += written
    }
  }

  public func type(_ text: String) { type(Array(text.utf8)) }

  /// Changes the terminal's size, as a terminal emulator does when its window is resized (the kernel then
  /// signals SIGWINCH to the terminal's foreground process group; a test that is not one sends it itself).
  public func resize(width: Int, height: Int) {
    _ = sealpost_set_window_size(terminal, UInt16(clamping: height), UInt16(clamping: width))
  }

  /// Everything the backend wrote, reading until nothing more arrives for `quiet` milliseconds.
  public func readOutput(quiet milliseconds: Int32 = 50) -> [UInt8] {
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      var descriptor = pollfd(fd: controller, events: Int16(POLLIN), revents: 0)
      guard poll(&descriptor, 1, milliseconds) > 0 else { break }
      let count = read(controller, &buffer, buffer.count)
      guard count > 0 else { break }
      output += buffer[..<count]
    }
    return output
  }
}
