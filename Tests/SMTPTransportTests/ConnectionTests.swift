import Foundation
import Glibc
import MailSenderTesting
import SMTPTransport
import Synchronization
import Testing

@Suite("TCP connections: resolution, refusal, deadlines, cancellation, pending input")
struct ConnectionTests {
  @Test("PeerAddress decides loopback by the address and formats EHLO literals")
  func peerAddresses() throws {
    let loopbacks = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "::ffff:127.255.0.1"]
    for host in loopbacks {
      #expect(try #require(PeerAddress(numericHost: host, port: 25)).isLoopback, "\(host)")
    }
    for host in ["128.0.0.1", "10.0.0.1", "::2", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0"] {
      #expect(try #require(PeerAddress(numericHost: host, port: 25)).isLoopback == false, "\(host)")
    }
    #expect(PeerAddress(numericHost: "localhost", port: 25) == nil)
    #expect(PeerAddress(numericHost: "[::1]", port: 25) == nil)
    let v4 = try #require(PeerAddress(numericHost: "127.0.0.1", port: 2525))
    #expect(v4.description == "127.0.0.1:2525")
    #expect(v4.addressLiteral == "[127.0.0.1]")
    #expect(!v4.isIPv6)
    let v6 = try #require(PeerAddress(numericHost: "0:0:0:0:0:0:0:1", port: 2525))
    #expect(v6.host == "::1")
    #expect(v6.description == "[::1]:2525")
    #expect(v6.addressLiteral == "[IPv6:::1]")
    #expect(v6.isIPv6)
  }

  @Test("connecting to \"localhost\" tries its addresses and reports peer and local address")
  func localhost() throws {
    let server = try ScriptedSMTPServer { session in try session.send("220 hello") }
    defer { server.stop() }
    var attempts: [PeerAddress] = []
    let connection = try SMTPConnection.connect(
      host: "localhost", port: server.port, deadline: deadline(), cancellation: Cancellation()
    ) { attempts.append($0) }
    defer { connection.close() }
    #expect(attempts.last == connection.peer)
    #expect(connection.peer.description == "127.0.0.1:\(server.port)")
    #expect(connection.peer.isLoopback)
    #expect(connection.local.host == "127.0.0.1")
    #expect(connection.local.port != server.port)
    #expect(!connection.isTLS)
    #expect(try LineReader(connection).line() == "220 hello")
  }

  @Test("an IPv6 literal connects over IPv6")
  func ipv6() throws {
    let server = try ScriptedSMTPServer(options: .init(listenOnIPv6: true)) { session in
      try session.send("220 six")
    }
    defer { server.stop() }
    let port = try #require(server.ipv6Port)
    let connection = try SMTPConnection.connect(
      host: "::1", port: port, deadline: deadline(), cancellation: Cancellation())
    defer { connection.close() }
    #expect(connection.peer.description == "[::1]:\(port)")
    #expect(connection.peer.addressLiteral == "[IPv6:::1]")
    #expect(connection.local.isIPv6)
    #expect(try LineReader(connection).line() == "220 six")
  }

  @Test("a closed port is .connectionRefused, naming what was tried")
  func refused() throws {
    let port = try Self.closedPort()
    var attempts: [PeerAddress] = []
    let error = #expect(throws: TransportError.self) {
      _ = try SMTPConnection.connect(
        host: "127.0.0.1", port: port, deadline: deadline(), cancellation: Cancellation()
      ) { attempts.append($0) }
    }
    #expect(error?.kind == .connectionRefused)
    #expect(error?.message.contains("127.0.0.1:\(port)") == true, "\(String(describing: error))")
    #expect(attempts.map(\.description) == ["127.0.0.1:\(port)"])
  }

  @Test("an unknown host name is .hostNotFound")
  func hostNotFound() {
    let error = #expect(throws: TransportError.self) {
      _ = try SMTPConnection.connect(
        host: "nonexistent.invalid", port: 25, deadline: deadline(), cancellation: Cancellation())
    }
    #expect(error?.kind == .hostNotFound)
    #expect(error?.message.contains("nonexistent.invalid") == true)
  }

  @Test("an already cancelled connect throws .cancelled without connecting")
  func cancelledBeforeConnect() throws {
    let server = try ScriptedSMTPServer { session in try session.send("220 hello") }
    defer { server.stop() }
    let cancellation = Cancellation()
    cancellation.cancel()
    #expect(cancellation.isCancelled)
    let error = #expect(throws: TransportError.self) {
      _ = try SMTPConnection.connect(
        host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: cancellation)
    }
    #expect(error?.kind == .cancelled)
  }

  @Test("a stalled server hits the read deadline")
  func readDeadline() throws {
    var options = StandardSMTPOptions()
    options.stall = .beforeGreeting(seconds: 5)
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    defer { connection.close() }
    let start = ContinuousClock.now
    let error = #expect(throws: TransportError.self) {
      _ = try connection.read(maxBytes: 512, deadline: deadline(0.3))
    }
    let elapsed = ContinuousClock.now - start
    #expect(error?.kind == .timedOut)
    #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(2), "\(elapsed)")
  }

  @Test("a server dripping one byte at a time is cut off by the step's deadline, not per read")
  func drippingServer() throws {
    let server = try ScriptedSMTPServer { session in
      for byte in bytes("220 this greeting never ends in time\r\n") {
        try session.sendRaw([byte])
        try session.stall(0.05)
      }
    }
    defer { server.stop() }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    defer { connection.close() }
    let reader = LineReader(connection)
    let start = ContinuousClock.now
    let error = #expect(throws: TransportError.self) { _ = try reader.line(deadline: deadline(0.3)) }
    #expect(error?.kind == .timedOut)
    #expect(ContinuousClock.now - start < .seconds(1))
    #expect(!reader.buffer.isEmpty)  // bytes did arrive; the deadline still held
  }

  @Test("cancel() from another thread interrupts a blocked read at once")
  func cancellationInterruptsRead() async throws {
    var options = StandardSMTPOptions()
    options.stall = .beforeGreeting(seconds: 10)
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let cancellation = Cancellation()
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: cancellation)
    defer { connection.close() }
    let canceller = Thread {
      usleep(200_000)
      cancellation.cancel()
    }
    canceller.start()
    let start = ContinuousClock.now
    let error = #expect(throws: TransportError.self) {
      _ = try connection.read(maxBytes: 512, deadline: deadline(10))
    }
    let elapsed = ContinuousClock.now - start
    #expect(error?.kind == .cancelled)
    #expect(elapsed >= .milliseconds(150) && elapsed < .seconds(2), "\(elapsed)")
  }

  @Test("cancel() from another thread interrupts a stalled TLS handshake")
  func cancellationInterruptsHandshake() throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      options: .init(implicitTLS: pki.identity(.valid), implicitTLSDelay: 10)
    ) { _ in }
    defer { server.stop() }
    let cancellation = Cancellation()
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: cancellation)
    Thread {
      usleep(200_000)
      cancellation.cancel()
    }.start()
    let start = ContinuousClock.now
    let error = #expect(throws: TransportError.self) {
      _ = try connection.startTLS(
        TLSClientConfiguration(
          serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath)),
        deadline: deadline(10), onEvent: { _ in })
    }
    #expect(error?.kind == .cancelled)
    #expect(ContinuousClock.now - start < .seconds(2))
  }

  @Test("a server stalling mid-handshake hits the handshake deadline and the connection is closed")
  func handshakeDeadline() throws {
    let pki = try TestPKI.shared()
    let server = try ScriptedSMTPServer(
      options: .init(implicitTLS: pki.identity(.valid), implicitTLSDelay: 5)
    ) { _ in }
    defer { server.stop() }
    let outcome = try handshake(
      with: server, serverName: "localhost", trust: .certificateAuthorities(caFile: pki.caCertificatePath),
      seconds: 0.3)
    #expect(outcome.error?.kind == .timedOut)
    #expect(outcome.handshakeNames == ["ClientHello"])
    #expect(throws: TransportError.self) {
      _ = try outcome.connection.read(maxBytes: 1, deadline: deadline())
    }
  }

  @Test("hasPendingInput sees bytes sent right after a line, and only then")
  func pendingInput() throws {
    let server = try ScriptedSMTPServer { session in
      try session.send("220 first")
      _ = try session.readLine()
      try session.send("250 injected")
      _ = try session.readLine()
    }
    defer { server.stop() }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    defer { connection.close() }
    #expect(try connection.read(maxBytes: 11, deadline: deadline()) == bytes("220 first\r\n"))
    #expect(!connection.hasPendingInput())
    try connection.write(bytes("NEXT\r\n"), deadline: deadline())
    let end = ContinuousClock.now + .seconds(3)
    while !connection.hasPendingInput() && ContinuousClock.now < end { usleep(5_000) }
    #expect(connection.hasPendingInput())
    #expect(try connection.read(maxBytes: 100, deadline: deadline()) == bytes("250 injected\r\n"))
    #expect(!connection.hasPendingInput())
  }

  @Test("a large write arrives complete and in order; close is idempotent and ends reads and writes")
  func largeWriteAndClose() throws {
    let server = try ScriptedSMTPServer { session in _ = try session.readData() }
    defer { server.stop() }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    let line = bytes(String(repeating: "0123456789", count: 99) + "\r\n")
    let payload = Array((0..<600).map { _ in line }.joined())
    try connection.write(payload + bytes(".\r\n"), deadline: deadline())
    let session = try #require(server.waitForFinishedSessions(1).first)
    #expect(session.messages == [payload])
    connection.close()
    connection.close()
    #expect(!connection.hasPendingInput())
    #expect(throws: TransportError.self) { _ = try connection.read(maxBytes: 1, deadline: deadline()) }
    #expect(throws: TransportError.self) { try connection.write([1], deadline: deadline()) }
  }

  @Test("stopping the test server ends stalled sessions promptly")
  func serverStop() throws {
    let server = try ScriptedSMTPServer { session in try session.stall(30) }
    let connection = try SMTPConnection.connect(
      host: "127.0.0.1", port: server.port, deadline: deadline(), cancellation: Cancellation())
    defer { connection.close() }
    let end = ContinuousClock.now + .seconds(3)
    while server.sessions.isEmpty && ContinuousClock.now < end { usleep(5_000) }
    let start = ContinuousClock.now
    server.stop()
    #expect(ContinuousClock.now - start < .seconds(2))
    #expect(server.sessions.first?.isFinished == true)
    #expect(server.sessions.first?.error == "server stopped")
    #expect(try connection.read(maxBytes: 10, deadline: deadline()) == [])
  }

  /// A port on 127.0.0.1 that nothing listens on (bound, then closed).
  static func closedPort() throws -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(descriptor >= 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    try #require(bound == 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
  }
}
