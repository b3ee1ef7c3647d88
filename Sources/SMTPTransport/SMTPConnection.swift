import COpenSSL
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// One TCP connection to an SMTP server, plaintext or TLS (implicit, or upgraded with `startTLS`).
///
/// Used by one thread at a time; only `Cancellation` may be touched from another thread. Every blocking step
/// takes a deadline. The socket is non-blocking throughout and waits happen in `poll(2)` together with the
/// cancellation descriptor, so `Cancellation.cancel()` interrupts any step at once.
public final class SMTPConnection: @unchecked Sendable {
  public let peer: PeerAddress
  public let local: PeerAddress

  let cancellation: Cancellation
  var descriptor: Int32
  /// OpenSSL objects, owned by this connection and freed by `close()`.
  var context: OpaquePointer?
  var ssl: OpaquePointer?
  var handshakeContext: HandshakeContext?
  var tlsEstablished = false
  /// After a fatal TLS error, OpenSSL must not be asked to send close_notify.
  var tlsBroken = false
  /// Something went to the peer (the SYN, a write, a handshake flight) since the last wait that `roundTrips`
  /// counted, so the next read waits for the peer's answer.
  var awaitingPeer = true

  /// The waits for the peer so far, TCP handshake included: the connect counts 1, each TLS handshake flight
  /// that waits for the server's answer counts 1 (TLS 1.3: one), and each read that follows a write counts 1
  /// (further reads of the same answer do not). Pipelining shows here: MAIL, RCPT and DATA in one write cost
  /// one round trip, not three.
  public internal(set) var roundTrips = 1

  init(descriptor: Int32, peer: PeerAddress, local: PeerAddress, cancellation: Cancellation) {
    self.descriptor = descriptor
    self.peer = peer
    self.local = local
    self.cancellation = cancellation
  }

  deinit { close() }

  /// True once a TLS handshake succeeded with a trusted peer.
  public var isTLS: Bool { tlsEstablished }
  /// After a failed handshake: the first bytes received looked like an SMTP reply (`220 `, `554-`…), not a TLS
  /// record. With implicit TLS that is a server expecting STARTTLS on this port (issue 11: OpenSSL only says
  /// "wrong version number").
  public internal(set) var handshakeSawPlaintextReply = false

  // MARK: Connecting

  /// Resolves `host` (a name, or an IPv4/IPv6 literal without brackets) and connects to each address in turn
  /// until one accepts. `onAttempt` is called before each attempt. The deadline covers resolution and all
  /// attempts.
  public static func connect(
    host: String, port: UInt16, deadline: Deadline, cancellation: Cancellation,
    onAttempt: (PeerAddress) -> Void = { _ in }
  ) throws(TransportError) -> SMTPConnection {
    Signals.ignoreSIGPIPE()
    var name = host
    if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
    guard !name.isEmpty else { throw TransportError(.hostNotFound, "no host name given") }
    let addresses = try Resolver.resolve(
      host: name, port: port, deadline: deadline, cancellation: cancellation)
    var failures: [String] = []
    for address in addresses {
      onAttempt(address.peer)
      do {
        return try connect(to: address, deadline: deadline, cancellation: cancellation)
      } catch {
        guard error.kind == .connectionRefused else { throw error }
        failures.append(error.message)
      }
    }
    let tried = failures.isEmpty ? "no usable address" : failures.joined(separator: "; ")
    throw TransportError(.connectionRefused, "could not connect to \(name) port \(port): \(tried)")
  }

  private static func connect(
    to address: ResolvedAddress, deadline: Deadline, cancellation: Cancellation
  ) throws(TransportError) -> SMTPConnection {
    let descriptor = socket(
      address.family,
      Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        | Int32(SOCK_NONBLOCK.rawValue), 0)
    if descriptor < 0 {
      let code = errno
      if code == EAFNOSUPPORT || code == EPROTONOSUPPORT {
        throw TransportError(.connectionRefused, "\(address.peer): \(errorText(code))")
      }
      throw TransportError(.io, "cannot create a socket for \(address.peer): \(errorText(code))")
    }
    var keep = false
    defer { if !keep { Glibc.close(descriptor) } }

    var storage = address.storage
    let started = withUnsafePointer(to: &storage) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(descriptor, $0, address.length)
      }
    }
    if started != 0 {
      let code = errno
      guard code == EINPROGRESS || code == EINTR else {
        throw connectFailure(code, peer: address.peer)
      }
      try SocketWait.wait(
        descriptor: descriptor, events: SocketWait.writable, deadline: deadline,
        cancellation: cancellation, step: "connecting to \(address.peer)")
      var pending: Int32 = 0
      var length = socklen_t(MemoryLayout<Int32>.size)
      if getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length) != 0 {
        throw connectFailure(errno, peer: address.peer)
      }
      if pending != 0 { throw connectFailure(pending, peer: address.peer) }
    }

    var one: Int32 = 1
    _ = setsockopt(
      descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    let local = localAddress(of: descriptor) ?? address.peer
    keep = true
    return SMTPConnection(
      descriptor: descriptor, peer: address.peer, local: local, cancellation: cancellation)
  }

  private static func connectFailure(_ code: Int32, peer: PeerAddress) -> TransportError {
    switch code {
    case ECONNREFUSED:
      return TransportError(.connectionRefused, "\(peer) refused the connection")
    case ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL, EAFNOSUPPORT, ECONNRESET, ENETDOWN, EHOSTDOWN:
      return TransportError(.connectionRefused, "\(peer): \(errorText(code))")
    case ETIMEDOUT:
      return TransportError(.timedOut, "connecting to \(peer) timed out")
    default:
      return TransportError(.io, "connecting to \(peer) failed: \(errorText(code))")
    }
  }

  private static func localAddress(of descriptor: Int32) -> PeerAddress? {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let result = withUnsafeMutablePointer(to: &storage) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard result == 0 else { return nil }
    return IPAddressParser.peerAddress(storage)
  }

  // MARK: Reading and writing

  /// Reads up to `maxBytes`; `[]` means the peer closed in order. Inside TLS this is decrypted data, and TLS
  /// records that arrive with it are reported to `onTLSEvent` as OpenSSL processes them, in order: a TLS 1.3
  /// NewSessionTicket (which arrives only with the first read after the handshake), a KeyUpdate, an alert.
  public func read(
    maxBytes: Int, deadline: Deadline, onTLSEvent: (TLSEvent) -> Void
  ) throws(TransportError) -> [UInt8] {
    guard let handshakeContext, ssl != nil else { return try read(maxBytes: maxBytes, deadline: deadline) }
    return try withoutActuallyEscaping(onTLSEvent) { (sink) throws(TransportError) -> [UInt8] in
      handshakeContext.sink = sink
      defer { handshakeContext.sink = nil }
      return try read(maxBytes: maxBytes, deadline: deadline)
    }
  }

  /// Reads up to `maxBytes`; `[]` means the peer closed in order. Inside TLS this is decrypted data (TLS events
  /// that arrive meanwhile are not reported: see `read(maxBytes:deadline:onTLSEvent:)`).
  public func read(maxBytes: Int, deadline: Deadline) throws(TransportError) -> [UInt8] {
    guard descriptor >= 0 else { throw TransportError(.connectionLost, "the connection is closed") }
    guard maxBytes > 0 else { return [] }
    let count = min(maxBytes, Int(Int32.max))
    // A read waits for a reply; ACK what arrives at once (see `acknowledgeQuickly`).
    acknowledgeQuickly()
    if awaitingPeer {
      roundTrips += 1
      awaitingPeer = false
    }
    if let ssl { return try tlsRead(ssl, count: count, deadline: deadline) }
    var buffer = [UInt8](repeating: 0, count: count)
    while true {
      if cancellation.isCancelled { throw TransportError(.cancelled, "cancelled while reading from \(peer)") }
      let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
      if received >= 0 {
        buffer.removeSubrange(received...)
        return buffer
      }
      try recover(fromErrno: errno, waitingFor: SocketWait.readable, deadline: deadline, step: "reading from")
    }
  }

  /// Writes all of `bytes` (inside TLS: encrypted) before the deadline.
  public func write(_ bytes: [UInt8], deadline: Deadline) throws(TransportError) {
    var failure: TransportError?
    bytes.withUnsafeBytes { raw in
      do throws(TransportError) {
        try write(raw, deadline: deadline)
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }

  /// Writes all of `bytes` (inside TLS: encrypted) before the deadline. The message content goes through here
  /// from the session's own fixed buffers, so a large message is never copied into an array on its way out.
  public func write(_ bytes: UnsafeRawBufferPointer, deadline: Deadline) throws(TransportError) {
    guard descriptor >= 0 else { throw TransportError(.connectionLost, "the connection is closed") }
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    awaitingPeer = true
    if let ssl { return try tlsWrite(ssl, bytes: bytes, deadline: deadline) }
    var offset = 0
    while offset < bytes.count {
      if cancellation.isCancelled { throw TransportError(.cancelled, "cancelled while writing to \(peer)") }
      let sent = send(descriptor, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
      if sent >= 0 {
        offset += sent
        continue
      }
      try recover(fromErrno: errno, waitingFor: SocketWait.writable, deadline: deadline, step: "writing to")
    }
  }

  /// After a failed `recv`/`send`: returns to retry (EINTR, or once the socket is ready again), else throws.
  private func recover(
    fromErrno code: Int32, waitingFor events: Int16, deadline: Deadline, step: String
  ) throws(TransportError) {
    switch code {
    case EINTR:
      return
    case EAGAIN, EWOULDBLOCK:
      try SocketWait.wait(
        descriptor: descriptor, events: events, deadline: deadline, cancellation: cancellation,
        step: "\(step) \(peer)")
    case ECONNRESET, EPIPE, ETIMEDOUT:
      throw TransportError(.connectionLost, "connection to \(peer) lost: \(errorText(code))")
    default:
      throw TransportError(.io, "\(step) \(peer) failed: \(errorText(code))")
    }
  }

  /// True when input is waiting that nobody has read yet: decrypted bytes buffered inside OpenSSL, or at least
  /// one byte in the socket's receive queue (a non-blocking `MSG_PEEK`). Used right after a STARTTLS `220` to
  /// detect injected bytes before the handshake.
  public func hasPendingInput() -> Bool {
    guard descriptor >= 0 else { return false }
    if let ssl, SSL_pending(ssl) > 0 { return true }
    var byte: UInt8 = 0
    let peeked = recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
    return peeked > 0
  }

  /// True when bytes of the reply stream are already here that nobody has read: outside TLS at least one byte
  /// in the socket's receive queue (a non-blocking `MSG_PEEK`); inside TLS decrypted bytes buffered inside
  /// OpenSSL (the socket is not looked at there: it may hold records that are not data, such as a session
  /// ticket). Used before each command goes out, to catch replies sent out of turn that a read boundary
  /// left outside the parser.
  public func hasUnreadReplyBytes() -> Bool {
    guard descriptor >= 0 else { return false }
    if let ssl { return SSL_pending(ssl) > 0 }
    var byte: UInt8 = 0
    return recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) > 0
  }

  /// Idempotent. Inside an established TLS session a close_notify is sent best effort (never blocking);
  /// then the socket is closed and the OpenSSL objects are freed.
  public func close() {
    sealpost_ssl_release(ssl, context, tlsEstablished && !tlsBroken ? 1 : 0)
    ssl = nil
    context = nil
    handshakeContext = nil
    tlsEstablished = false
    if descriptor >= 0 {
      Glibc.close(descriptor)
      descriptor = -1
    }
  }
}
