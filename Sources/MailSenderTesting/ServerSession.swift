import COpenSSL
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One accepted connection, as a server script sees it. Used by its script's thread only.
///
/// Every blocking call takes a timeout (default: the server's `Options.timeout`) and throws
/// `ScriptedSMTPServerError` when it passes or when the server stops.
public final class ServerSession: @unchecked Sendable {
  private var descriptor: Int32
  private var context: OpaquePointer?
  private var ssl: OpaquePointer?
  /// Received and not yet consumed by `readLine`/`readData`.
  private var buffer: [UInt8] = []
  private let recorder: SessionRecorder
  private let stopSignal: StopSignal
  /// Default timeout of each read and write, in seconds.
  public let timeout: Double

  init(descriptor: Int32, recorder: SessionRecorder, stopSignal: StopSignal, timeout: Double) {
    self.descriptor = descriptor
    self.recorder = recorder
    self.stopSignal = stopSignal
    self.timeout = timeout
  }

  deinit { close() }

  /// True after a successful `startTLS` (or implicit TLS).
  public var isTLS: Bool { ssl != nil }

  /// Bytes the client sent that no `readLine`/`readData` consumed yet.
  public var unconsumedInput: [UInt8] { buffer }

  // MARK: Sending

  /// Sends `line` followed by CRLF.
  public func send(_ line: String, timeout: Double? = nil) throws {
    try sendRaw(Array(line.utf8) + [13, 10], timeout: timeout)
  }

  /// Sends `bytes` exactly (inside TLS when active), in one write.
  public func sendRaw(_ bytes: [UInt8], timeout: Double? = nil) throws {
    let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
    var offset = 0
    while offset < bytes.count {
      if let ssl {
        let result = bytes.withUnsafeBytes { sealpost_ssl_write_from(ssl, $0.baseAddress, $0.count, &offset) }
        if result == 1 { continue }
        try waitForTLS(ssl, result: result, deadline: deadline, step: "writing")
      } else {
        let sent = bytes.withUnsafeBytes { raw in
          Glibc.send(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
        }
        if sent >= 0 {
          offset += sent
          continue
        }
        let code = errno
        guard code == EAGAIN || code == EWOULDBLOCK || code == EINTR else {
          throw ScriptedSMTPServerError("writing failed: \(String(cString: strerror(code)))")
        }
        try wait(events: Int16(POLLOUT), deadline: deadline, step: "writing")
      }
    }
  }

  // MARK: Reading

  /// Reads one CRLF-terminated line and returns it without the CRLF, otherwise raw (a bare LF stays inside).
  /// Recorded in `commands`. nil when the client closed first.
  public func readLine(timeout: Double? = nil) throws -> [UInt8]? {
    let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
    while true {
      if let end = Self.find([13, 10], in: buffer) {
        let line = Array(buffer[..<end])
        buffer.removeSubrange(..<(end + 2))
        recorder.state.withLock { $0.commands.append(String(decoding: line, as: UTF8.self)) }
        return line
      }
      guard try fill(deadline: deadline) else { return nil }
    }
  }

  /// Reads message content up to the line ".": returns it raw (dot-stuffed, with its final CRLF), without the
  /// terminating ".\r\n". Recorded in `messages`.
  public func readData(timeout: Double? = nil) throws -> [UInt8] {
    let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
    // Where the search for the end of data resumes: a large message is searched once, not once per read.
    var searched = 0
    while true {
      if buffer.starts(with: [0x2E, 13, 10]) {
        buffer.removeSubrange(..<3)
        recorder.state.withLock { $0.messages.append([]) }
        return []
      }
      if let end = Self.find([13, 10, 0x2E, 13, 10], in: buffer, from: max(0, searched - 4)) {
        let content = Array(buffer[..<(end + 2)])
        buffer.removeSubrange(..<(end + 5))
        recorder.state.withLock { $0.messages.append(content) }
        return content
      }
      searched = buffer.count
      guard try fill(deadline: deadline) else {
        throw ScriptedSMTPServerError("the client closed the connection inside DATA")
      }
    }
  }

  /// Reads exactly `count` octets (a BDAT chunk, RFC 3030 §2), not parsed and not recorded as a message; see
  /// `recordMessage(_:)`.
  public func readBytes(_ count: Int, timeout: Double? = nil) throws -> [UInt8] {
    let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
    while buffer.count < count {
      guard try fill(deadline: deadline) else {
        throw ScriptedSMTPServerError("the client closed the connection inside a BDAT chunk")
      }
    }
    defer { buffer.removeSubrange(..<count) }
    return Array(buffer[..<count])
  }

  /// Records `content` in `messages`, as `readData` does for DATA: for content that came in BDAT chunks.
  public func recordMessage(_ content: [UInt8]) {
    recorder.state.withLock { $0.messages.append(content) }
  }

  /// Waits up to `timeout` for at least one byte and returns everything buffered (recorded, not parsed); []
  /// when the client closed first.
  public func readAvailable(timeout: Double? = nil) throws -> [UInt8] {
    let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
    if buffer.isEmpty {
      guard try fill(deadline: deadline) else { return [] }
    }
    defer { buffer.removeAll() }
    return buffer
  }

  /// Waits up to `timeout` for the client to close, discarding (but recording) what it sends. True if it
  /// closed.
  public func waitForClose(timeout: Double? = nil) throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
    do {
      while try fill(deadline: deadline) { buffer.removeAll() }
      return true
    } catch let error as ScriptedSMTPServerError where error.message.hasPrefix("timed out") {
      return false
    }
  }

  /// Reads more into `buffer`; false at end of stream.
  private func fill(deadline: Date) throws -> Bool {
    var chunk = [UInt8](repeating: 0, count: 16_384)
    while true {
      if stopSignal.isStopped { throw ScriptedSMTPServerError("server stopped") }
      if let ssl {
        ERR_clear_error()
        var received = 0
        let result = chunk.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &received) }
        if result == 1 {
          let data = chunk[..<received]
          buffer += data
          recorder.state.withLock { $0.receivedInsideTLS += data }
          return true
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_ZERO_RETURN, SSL_ERROR_SYSCALL: return false
        default: try waitForTLS(ssl, result: result, deadline: deadline, step: "reading")
        }
      } else {
        let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if received > 0 {
          let data = chunk[..<received]
          buffer += data
          recorder.state.withLock { $0.receivedPlaintext += data }
          return true
        }
        if received == 0 { return false }
        let code = errno
        if code == ECONNRESET { return false }
        guard code == EAGAIN || code == EWOULDBLOCK || code == EINTR else {
          throw ScriptedSMTPServerError("reading failed: \(String(cString: strerror(code)))")
        }
        try wait(events: Int16(POLLIN), deadline: deadline, step: "reading")
      }
    }
  }

  // MARK: TLS

  /// Server side of a TLS handshake on this socket (SSL_accept). Throws if the client already sent bytes that
  /// were not consumed (nothing may follow STARTTLS before the handshake), or if the handshake fails.
  /// `requestClientCertificate` sends a CertificateRequest (a client without a certificate may still go on).
  public func startTLS(
    identity: TestIdentity, versions: ClosedRange<ServerTLSVersion> = .tls12 ... .tls13,
    securityLevel0: Bool = false, requestClientCertificate: Bool = false, timeout: Double? = nil
  ) throws {
    guard ssl == nil else { throw ScriptedSMTPServerError("TLS is already active") }
    guard buffer.isEmpty else {
      throw ScriptedSMTPServerError(
        "the client sent \(buffer.count) bytes after STARTTLS before the handshake")
    }
    let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
    ERR_clear_error()
    guard let context = SSL_CTX_new(TLS_server_method()) else { throw tlsError("SSL_CTX_new") }
    self.context = context
    _ = sealpost_SSL_CTX_set_min_proto_version(context, Int32(versions.lowerBound.rawValue))
    _ = sealpost_SSL_CTX_set_max_proto_version(context, Int32(versions.upperBound.rawValue))
    if securityLevel0 || versions.lowerBound < .tls12 {
      SSL_CTX_set_security_level(context, 0)
      _ = SSL_CTX_set_cipher_list(context, "DEFAULT:@SECLEVEL=0")
    }
    sealpost_SSL_CTX_ignore_unexpected_eof(context)
    guard SSL_CTX_use_certificate_chain_file(context, identity.chainPath) == 1 else {
      throw tlsError("loading \(identity.chainPath)")
    }
    guard SSL_CTX_use_PrivateKey_file(context, identity.keyPath, SSL_FILETYPE_PEM) == 1 else {
      throw tlsError("loading \(identity.keyPath)")
    }
    if requestClientCertificate {
      // Ask, accept any answer (or none): the point is the CertificateRequest message.
      SSL_CTX_set_verify(context, SSL_VERIFY_PEER) { _, _ in 1 }
    }
    guard let ssl = SSL_new(context) else { throw tlsError("SSL_new") }
    guard SSL_set_fd(ssl, descriptor) == 1 else {
      SSL_free(ssl)
      throw tlsError("SSL_set_fd")
    }
    SSL_set_accept_state(ssl)
    // Count ClientHellos as OpenSSL reads them, so a test can tell "no handshake was tried" from "it failed".
    _ = sealpost_SSL_set_app_data(ssl, Unmanaged.passUnretained(recorder).toOpaque())
    SSL_set_msg_callback(ssl) { written, _, contentType, buffer, length, ssl, _ in
      // Content type 22 is a handshake message; its first byte is the type, 1 a ClientHello.
      guard written == 0, contentType == 22, length > 0, let buffer, let ssl,
        buffer.load(as: UInt8.self) == 1, let raw = sealpost_SSL_get_app_data(ssl)
      else { return }
      Unmanaged<SessionRecorder>.fromOpaque(raw).takeUnretainedValue().state.withLock { $0.clientHellos += 1 }
    }
    while true {
      if stopSignal.isStopped {
        SSL_free(ssl)
        throw ScriptedSMTPServerError("server stopped")
      }
      ERR_clear_error()
      let result = SSL_accept(ssl)
      if result == 1 { break }
      do {
        try waitForTLS(ssl, result: result, deadline: deadline, step: "the TLS handshake")
      } catch {
        SSL_free(ssl)
        throw error
      }
    }
    self.ssl = ssl
    let version = SSL_get_version(ssl).map { String(cString: $0) }
    let serverName = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
    recorder.state.withLock {
      $0.tlsVersion = version
      $0.serverNameIndication = serverName
    }
  }

  /// TLS 1.3: queues `count` more NewSessionTicket messages, sent before the next data (a server flooding the
  /// client with tickets).
  public func queueSessionTickets(_ count: Int) throws {
    guard let ssl else { throw ScriptedSMTPServerError("no TLS session") }
    for _ in 0..<count {
      guard SSL_new_session_ticket(ssl) == 1 else { throw tlsError("SSL_new_session_ticket") }
    }
  }

  /// TLS 1.2: sends a HelloRequest, asking the client to renegotiate (a client that refuses answers with a
  /// `no_renegotiation` alert). The script goes on at once; what the client answers arrives with later reads.
  public func requestRenegotiation() throws {
    guard let ssl else { throw ScriptedSMTPServerError("no TLS session") }
    ERR_clear_error()
    guard SSL_renegotiate(ssl) == 1 else { throw tlsError("SSL_renegotiate") }
    _ = SSL_do_handshake(ssl)
    ERR_clear_error()
  }

  /// TLS 1.3: sends `count` records, each preceded by a KeyUpdate that asks the client to update its keys too
  /// (a key-update flood); each record carries one `continuation` line (e.g. `250-x`).
  public func sendWithKeyUpdates(_ count: Int, continuation: String) throws {
    guard let ssl else { throw ScriptedSMTPServerError("no TLS session") }
    for _ in 0..<count {
      guard SSL_key_update(ssl, 1) == 1 else { throw tlsError("SSL_key_update") }
      try send(continuation)
    }
  }

  /// Ends TLS with a close_notify but keeps the socket, then sends `bytes` in plaintext on it (bytes after the
  /// end of TLS, which a client must never take as part of the session).
  public func closeNotifyThenSendPlaintext(_ bytes: [UInt8]) throws {
    guard let ssl else { throw ScriptedSMTPServerError("no TLS session") }
    ERR_clear_error()
    _ = SSL_shutdown(ssl)
    SSL_free(ssl)
    self.ssl = nil
    try sendRaw(bytes)
  }

  private func waitForTLS(_ ssl: OpaquePointer, result: Int32, deadline: Date, step: String) throws {
    let code = errno
    switch SSL_get_error(ssl, result) {
    case SSL_ERROR_WANT_READ: try wait(events: Int16(POLLIN), deadline: deadline, step: step)
    case SSL_ERROR_WANT_WRITE: try wait(events: Int16(POLLOUT), deadline: deadline, step: step)
    case SSL_ERROR_ZERO_RETURN: throw ScriptedSMTPServerError("the client closed TLS during \(step)")
    case SSL_ERROR_SYSCALL:
      throw ScriptedSMTPServerError(
        "the client closed the connection during \(step)"
          + (code == 0 ? "" : ": \(String(cString: strerror(code)))"))
    default: throw tlsError(step)
    }
  }

  private func tlsError(_ step: String) -> ScriptedSMTPServerError {
    var reasons: [String] = []
    while true {
      let code = ERR_get_error()
      if code == 0 { break }
      reasons.append(ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(code)")
    }
    return ScriptedSMTPServerError("TLS error during \(step): \(reasons.joined(separator: ", "))")
  }

  // MARK: Time and closing

  /// Does nothing for `seconds` (reads nothing, sends nothing); ends early with an error if the server stops
  /// or the client closes the connection (so a test's teardown does not wait out a stall nobody listens to).
  public func stall(_ seconds: Double) throws {
    let deadline = Date().addingTimeInterval(seconds)
    let readHangUp: Int16 = 0x2000  // POLLRDHUP (Linux), hidden behind _GNU_SOURCE in <poll.h>
    let hangUp = readHangUp | Int16(POLLHUP) | Int16(POLLERR)
    while Date() < deadline {
      if stopSignal.isStopped { throw ScriptedSMTPServerError("server stopped") }
      var fds = [
        pollfd(fd: stopSignal.descriptor, events: Int16(POLLIN), revents: 0),
        pollfd(fd: descriptor, events: readHangUp, revents: 0),
      ]
      _ = poll(&fds, 2, Self.milliseconds(until: deadline))
      if fds[1].revents & hangUp != 0 { throw ScriptedSMTPServerError("the client closed the connection") }
    }
  }

  /// Closes the socket without a TLS close_notify, as many servers do after `221`.
  public func abort() {
    if let ssl {
      SSL_free(ssl)
      self.ssl = nil
    }
    close()
  }

  /// Closes the connection (a TLS close_notify first, best effort). Idempotent.
  public func close() {
    sealpost_ssl_release(ssl, context, 1)
    ssl = nil
    context = nil
    if descriptor >= 0 {
      Glibc.close(descriptor)
      descriptor = -1
    }
  }

  private func wait(events: Int16, deadline: Date, step: String) throws {
    guard descriptor >= 0 else { throw ScriptedSMTPServerError("the session is closed") }
    while true {
      if stopSignal.isStopped { throw ScriptedSMTPServerError("server stopped") }
      let timeout = Self.milliseconds(until: deadline)
      if timeout <= 0 { throw ScriptedSMTPServerError("timed out \(step)") }
      var fds = [
        pollfd(fd: descriptor, events: events, revents: 0),
        pollfd(fd: stopSignal.descriptor, events: Int16(POLLIN), revents: 0),
      ]
      let result = poll(&fds, 2, timeout)
      if result > 0, fds[0].revents != 0 { return }
    }
  }

  private static func milliseconds(until deadline: Date) -> Int32 {
    let seconds = deadline.timeIntervalSinceNow
    guard seconds > 0 else { return 0 }
    return Int32(min(seconds * 1000 + 1, Double(Int32.max)))
  }

  static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    var index = start
    while index + needle.count <= haystack.count {
      if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) {
        return index
      }
      index += 1
    }
    return nil
  }
}
