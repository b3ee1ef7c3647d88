#if canImport(Glibc)
  import Glibc
#endif

/// The one place a connection blocks: poll(2) on the socket and the cancellation descriptor, bounded by the
/// step's deadline (not per read: a server dripping a byte a second still hits the deadline).
enum SocketWait {
  static let readable = Int16(POLLIN)
  static let writable = Int16(POLLOUT)

  /// Returns when `descriptor` is ready for `events` (or has an error/hang-up to report); throws `.timedOut`
  /// at the deadline and `.cancelled` once `cancellation` fires.
  static func wait(
    descriptor: Int32, events: Int16, deadline: Deadline, cancellation: Cancellation,
    step: @autoclosure () -> String
  ) throws(TransportError) {
    while true {
      if cancellation.isCancelled { throw TransportError(.cancelled, "cancelled while \(step())") }
      var timeout = deadline.millisecondsLeft
      if timeout == 0 { throw TransportError(.timedOut, "timed out while \(step())") }
      let cancelDescriptor = cancellation.eventDescriptor
      if cancelDescriptor < 0 { timeout = min(timeout, 50) }
      // A manual clock wakes the wait when it jumps, so the time left is computed again at once.
      let wakeDescriptor = deadline.clock.wakeDescriptor
      var fds = [
        pollfd(fd: descriptor, events: events, revents: 0),
        pollfd(fd: cancelDescriptor, events: Int16(POLLIN), revents: 0),
        pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
      ]
      // poll(2) ignores entries with a negative descriptor.
      let result = poll(&fds, nfds_t(fds.count), timeout)
      if result < 0 {
        let code = errno
        if code == EINTR { continue }
        throw TransportError(.io, "poll failed while \(step()): \(errorText(code))")
      }
      if cancellation.isCancelled { throw TransportError(.cancelled, "cancelled while \(step())") }
      if result > 0, fds[0].revents != 0 { return }
      if fds[2].revents != 0 { deadline.clock.acknowledgeWake() }
    }
  }
}

/// The C library's text for an errno value.
func errorText(_ code: Int32) -> String {
  guard let message = strerror(code) else { return "error \(code)" }
  return String(cString: message)
}
