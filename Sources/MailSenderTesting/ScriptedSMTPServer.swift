import COpenSSL
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// TLS versions a test server can be limited to (raw values as OpenSSL's).
public enum ServerTLSVersion: Int, Sendable, Comparable, CaseIterable {
  case tls10 = 0x0301
  case tls11 = 0x0302
  case tls12 = 0x0303
  case tls13 = 0x0304

  public static func < (lhs: ServerTLSVersion, rhs: ServerTLSVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Why a server script stopped: timeout, server stopped, TLS failure, a client that misbehaved.
public struct ScriptedSMTPServerError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Everything one connection sent to the server, for byte-by-byte comparisons.
public struct RecordedSession: Sendable, Hashable {
  /// The client's address, e.g. "127.0.0.1:40312".
  public var client: String = ""
  /// Bytes received before TLS (everything, for plaintext sessions).
  public var receivedPlaintext: [UInt8] = []
  /// Decrypted bytes received inside TLS.
  public var receivedInsideTLS: [UInt8] = []
  /// Each line read with `readLine` (outside DATA), without its CRLF, decoded as UTF-8 (lossy).
  public var commands: [String] = []
  /// Each message read with `readData`: the raw content as received (dot-stuffed, CRLF line ends), without
  /// the terminating ".\r\n".
  public var messages: [[UInt8]] = []
  /// OpenSSL's name of the negotiated version once a server handshake succeeded, e.g. "TLSv1.3".
  public var tlsVersion: String?
  /// The SNI the client sent in its ClientHello (nil: none, as for IP literals).
  public var serverNameIndication: String?
  /// How many TLS ClientHello messages the server read in its handshakes, whether they succeeded or not (0: the
  /// client never started a handshake here, e.g. after it refused a tampered STARTTLS).
  public var clientHellos = 0
  /// True once the script returned (or threw) and the connection was closed.
  public var isFinished = false
  /// What ended the script if it threw (timeout, peer closed during TLS, server stopped…).
  public var error: String?
}

/// A scripted SMTP server on 127.0.0.1 (and optionally ::1), ephemeral port, for tests.
///
/// Each accepted connection runs `script` on its own thread with a `ServerSession`. Every blocking call of a
/// session has a timeout and wakes up when `stop()` is called, so no thread outlives `stop()`. Everything
/// received is recorded per connection (`sessions`).
public final class ScriptedSMTPServer: Sendable {
  public struct Options: Sendable {
    /// Handshake right after accept (implicit TLS, port 465 style) with this identity.
    public var implicitTLS: TestIdentity?
    /// Seconds to wait after accept before the implicit TLS handshake (a server stalling mid-handshake).
    public var implicitTLSDelay: Double
    /// Versions for the implicit TLS handshake (STARTTLS passes its own to `ServerSession.startTLS`).
    public var versions: ClosedRange<ServerTLSVersion>
    /// Also listen on [::1] (on `ipv6Port`).
    public var listenOnIPv6: Bool
    /// Default timeout in seconds of each session read/write.
    public var timeout: Double
    /// The implicit TLS handshake sends a CertificateRequest (clients without a certificate may go on).
    public var requestClientCertificate = false
    /// With `listenOnIPv6`: listen on [::1] at exactly this port, or fail (a test of what a client does on a
    /// standard port such as 465 or 587, which it tries by number; [::1] leaves 127.0.0.1's ports alone).
    public var fixedIPv6Port: UInt16?

    public init(
      implicitTLS: TestIdentity? = nil, implicitTLSDelay: Double = 0,
      versions: ClosedRange<ServerTLSVersion> = .tls12 ... .tls13, listenOnIPv6: Bool = false,
      timeout: Double = 5
    ) {
      self.implicitTLS = implicitTLS
      self.implicitTLSDelay = implicitTLSDelay
      self.versions = versions
      self.listenOnIPv6 = listenOnIPv6
      self.timeout = timeout
    }
  }

  /// The port on 127.0.0.1.
  public let port: UInt16
  /// The port on ::1 when `listenOnIPv6` (the same number when it was free).
  public let ipv6Port: UInt16?
  private let core: ServerCore

  public init(
    options: Options = Options(), script: @escaping @Sendable (ServerSession) throws -> Void
  ) throws {
    _ = signal(SIGPIPE, SIG_IGN)
    let stopSignal = try StopSignal()
    var listeners: [Int32] = []
    do {
      let (v4, port) = try Self.listen(ipv6: false, port: 0)
      listeners.append(v4)
      self.port = port
      if options.listenOnIPv6 {
        let v6: (Int32, UInt16)
        if let fixed = options.fixedIPv6Port {
          v6 = try Self.listen(ipv6: true, port: fixed)
        } else if let same = try? Self.listen(ipv6: true, port: port) {
          v6 = same
        } else {
          v6 = try Self.listen(ipv6: true, port: 0)
        }
        listeners.append(v6.0)
        ipv6Port = v6.1
      } else {
        ipv6Port = nil
      }
    } catch {
      for listener in listeners { Glibc.close(listener) }
      throw error
    }
    core = ServerCore(listeners: listeners, stopSignal: stopSignal, options: options, script: script)
    core.startAccepting()
  }

  deinit { stop() }

  /// A snapshot of every connection so far, in accept order.
  public var sessions: [RecordedSession] { core.snapshot() }

  /// Waits until at least `count` sessions have finished (or `timeout` seconds passed); returns all sessions.
  @discardableResult
  public func waitForFinishedSessions(_ count: Int, timeout: Double = 5) -> [RecordedSession] {
    let end = Date().addingTimeInterval(timeout)
    while true {
      let sessions = core.snapshot()
      if sessions.filter(\.isFinished).count >= count || Date() >= end { return sessions }
      usleep(5_000)
    }
  }

  /// Closes the listeners and every session; returns once all server threads have ended. Idempotent.
  public func stop() { core.stop() }

  private static func listen(ipv6: Bool, port: UInt16) throws -> (Int32, UInt16) {
    let family = ipv6 ? AF_INET6 : AF_INET
    let descriptor = socket(
      family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    guard descriptor >= 0 else {
      throw ScriptedSMTPServerError("socket: \(String(cString: strerror(errno)))")
    }
    var one: Int32 = 1
    _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var result: Int32
    if ipv6 {
      _ = setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
      var address = sockaddr_in6()
      address.sin6_family = sa_family_t(AF_INET6)
      address.sin6_port = port.bigEndian
      address.sin6_addr = in6addr_loopback
      result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
      }
    } else {
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = port.bigEndian
      address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
      result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
    guard result == 0, Glibc.listen(descriptor, 64) == 0 else {
      let text = String(cString: strerror(errno))
      Glibc.close(descriptor)
      throw ScriptedSMTPServerError("cannot listen on \(ipv6 ? "[::1]" : "127.0.0.1"):\(port): \(text)")
    }
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    let bound = withUnsafeBytes(of: &storage) { raw -> UInt16 in
      ipv6
        ? UInt16(bigEndian: raw.loadUnaligned(as: sockaddr_in6.self).sin6_port)
        : UInt16(bigEndian: raw.loadUnaligned(as: sockaddr_in.self).sin_port)
    }
    return (descriptor, bound)
  }
}

/// The shared state of a server: listeners, sessions, threads. Threads hold this, not the server, so a server
/// that is dropped stops.
final class ServerCore: Sendable {
  let listeners: [Int32]
  let stopSignal: StopSignal
  let options: ScriptedSMTPServer.Options
  let script: @Sendable (ServerSession) throws -> Void
  private let recorders = Mutex<[SessionRecorder]>([])
  private let threads = DispatchGroup()
  private let listenersClosed = Mutex(false)

  init(
    listeners: [Int32], stopSignal: StopSignal, options: ScriptedSMTPServer.Options,
    script: @escaping @Sendable (ServerSession) throws -> Void
  ) {
    self.listeners = listeners
    self.stopSignal = stopSignal
    self.options = options
    self.script = script
  }

  func snapshot() -> [RecordedSession] {
    recorders.withLock { $0 }.map { $0.state.withLock { $0 } }
  }

  func startAccepting() {
    threads.enter()
    let thread = Thread { [self] in
      acceptLoop()
      threads.leave()
    }
    thread.name = "ScriptedSMTPServer accept"
    thread.start()
  }

  func stop() {
    stopSignal.fire()
    _ = threads.wait(timeout: .now() + 15)
    listenersClosed.withLock { closed in
      guard !closed else { return }
      closed = true
      for listener in listeners { Glibc.close(listener) }
    }
  }

  private func acceptLoop() {
    while !stopSignal.isStopped {
      var fds = listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      fds.append(pollfd(fd: stopSignal.descriptor, events: Int16(POLLIN), revents: 0))
      let result = poll(&fds, nfds_t(fds.count), 1000)
      if result < 0 && errno != EINTR { return }
      if stopSignal.isStopped { return }
      for index in listeners.indices where fds[index].revents != 0 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            accept(listeners[index], $0, &length)
          }
        }
        guard client >= 0 else { continue }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        // Like a real MTA's replies, each write goes out at once: no Nagle stall behind a session ticket.
        var one: Int32 = 1
        _ = setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        startSession(client, address: Self.describe(storage))
      }
    }
  }

  private func startSession(_ descriptor: Int32, address: String) {
    let recorder = SessionRecorder(client: address)
    recorders.withLock { $0.append(recorder) }
    threads.enter()
    let thread = Thread { [self] in
      let session = ServerSession(
        descriptor: descriptor, recorder: recorder, stopSignal: stopSignal, timeout: options.timeout)
      var failure: String?
      do {
        if let identity = options.implicitTLS {
          if options.implicitTLSDelay > 0 { try session.stall(options.implicitTLSDelay) }
          try session.startTLS(
            identity: identity, versions: options.versions,
            requestClientCertificate: options.requestClientCertificate)
        }
        try script(session)
      } catch {
        failure = "\(error)"
      }
      session.close()
      recorder.state.withLock {
        $0.error = failure
        $0.isFinished = true
      }
      threads.leave()
    }
    thread.name = "ScriptedSMTPServer session"
    thread.start()
  }

  private static func describe(_ storage: sockaddr_storage) -> String {
    var storage = storage
    var host = [CChar](repeating: 0, count: 64)
    var service = [CChar](repeating: 0, count: 16)
    let result = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        getnameinfo(
          $0, socklen_t(MemoryLayout<sockaddr_storage>.size), &host, socklen_t(host.count), &service,
          socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
      }
    }
    guard result == 0 else { return "?" }
    let hostText = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let serviceText = String(
      decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return hostText.contains(":") ? "[\(hostText)]:\(serviceText)" : "\(hostText):\(serviceText)"
  }
}

/// Readable (an eventfd) once the server stops; every session wait polls it.
final class StopSignal: Sendable {
  let descriptor: Int32
  private let stopped = Atomic<Bool>(false)

  init() throws {
    descriptor = sealpost_eventfd()
    guard descriptor >= 0 else {
      throw ScriptedSMTPServerError("eventfd: \(String(cString: strerror(errno)))")
    }
  }

  deinit { Glibc.close(descriptor) }

  var isStopped: Bool { stopped.load(ordering: .acquiring) }

  func fire() {
    guard stopped.exchange(true, ordering: .acquiringAndReleasing) == false else { return }
    var one: UInt64 = 1
    _ = withUnsafeBytes(of: &one) { Glibc.write(descriptor, $0.baseAddress, $0.count) }
  }
}

final class SessionRecorder: Sendable {
  let state: Mutex<RecordedSession>
  init(client: String) { state = Mutex(RecordedSession(client: client)) }
}
