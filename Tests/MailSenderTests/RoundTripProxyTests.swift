import Foundation
import MailSenderTesting
import SMTPProtocol
import Synchronization
import Testing

@testable import MailSender

#if canImport(Glibc)
  import Glibc
#endif

/// A loopback TCP proxy for one connection that counts turns from the outside: the connect is one, and each
/// time bytes come back from the server after the client last sent some is another. With implicit TLS this is
/// exactly the client's `roundTrips` (the client's Finished and the greeting after it are one turn). With
/// STARTTLS it is not used: a TLS 1.3 server's session tickets may race the client's first EHLO, which a proxy
/// sees as a turn the client never waited for.
final class TurnCountingProxy: Sendable {
  let port: UInt16
  private let listener: Int32
  private let counted = Mutex<Int?>(nil)

  init(target: UInt16) throws {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    listener = descriptor
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    guard bound == 0, listen(descriptor, 1) == 0 else {
      throw ScriptedSMTPServerError("proxy: cannot listen")
    }
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    port = UInt16(bigEndian: address.sin_port)
    Thread.detachNewThread { [self] in
      let client = accept(descriptor, nil, nil)
      guard client >= 0 else { return }
      let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var target4 = sockaddr_in()
      target4.sin_family = sa_family_t(AF_INET)
      target4.sin_addr.s_addr = inet_addr("127.0.0.1")
      target4.sin_port = target.bigEndian
      let connected = withUnsafePointer(to: &target4) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      var turns = connected == 0 ? 1 : 0
      var clientSpokeLast = true  // the connect itself
      var buffer = [UInt8](repeating: 0, count: 65536)
      var fds = [
        pollfd(fd: client, events: Int16(POLLIN), revents: 0),
        pollfd(fd: upstream, events: Int16(POLLIN), revents: 0),
      ]
      loop: while connected == 0 {
        guard poll(&fds, 2, 10_000) > 0 else { break }
        for index in 0..<2 where fds[index].revents != 0 {
          let from = fds[index].fd
          let to = index == 0 ? upstream : client
          let count = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
          if count <= 0 { break loop }
          if index == 0 {
            clientSpokeLast = true
          } else if clientSpokeLast {
            turns += 1
            clientSpokeLast = false
          }
          var offset = 0
          while offset < count {
            let sent = buffer.withUnsafeBytes {
              send(to, $0.baseAddress.map { $0 + offset }, count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { break loop }
            offset += sent
          }
        }
      }
      Glibc.close(client)
      Glibc.close(upstream)
      counted.withLock { $0 = turns }
    }
  }

  /// The turns seen, once the connection has ended (nil if it has not within `timeout` seconds).
  func turns(timeout: Double = 5) -> Int? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let value = counted.withLock({ $0 }) { return value }
      Thread.sleep(forTimeInterval: 0.01)
    }
    return nil
  }

  deinit { Glibc.close(listener) }
}

@Suite struct RoundTripProxyTests {
  typealias H = SendHarness

  /// The client's own count (`SendReport.roundTrips`) against what a proxy in the middle saw. With BDAT only: over
  /// DATA the server answers the final dot while the rest of the client's write (QUIT) may still be on its way
  /// through the proxy, which then sees a turn the client never waited for (seen in about half the runs), so the
  /// DATA count (7) is checked by the client's own counter alone (`ChunkingSendTests`).
  @Test(arguments: [(true, 6)])
  func theCounterAgreesWithAProxy(chunking: Bool, expected: Int) async throws {
    let standard = try ChunkingSendTests.server(chunking: chunking)
    let server = try ScriptedSMTPServer(
      standard: standard, options: .init(implicitTLS: try TestPKI.shared().identity(.valid)))
    defer { server.stop() }
    let proxy = try TurnCountingProxy(target: server.port)
    var request = try H.request(port: proxy.port, security: .implicitTLS)
    request.recipients = ["b@example.org"]
    let handle = MailSender.start(request)
    // The waits (the send, then the proxy's end) on a thread of their own (`OffPool`), off the pool.
    let (report, turns) = await OffPool.run {
      while handle.nextEvent() != nil {}
      return (handle.wait(), proxy.turns())
    }
    #expect(report.exitCode == 0, "\(report.verdictLine)")
    #expect(report.roundTrips == expected)
    #expect(turns == expected)
  }
}
