import MailMessage
import SMTPProtocol
import SMTPTransport
import Testing

@testable import MailSender

/// DESIGN §3.4: loopback is decided by the connected address; AUTH never goes over plaintext elsewhere.
@Suite struct ChannelPolicyTests {
  @Test(arguments: ["127.0.0.1", "127.5.6.7", "::1", "::ffff:127.0.0.1"])
  func loopbackPeersMayUsePlaintextWithAuth(host: String) throws {
    let peer = try #require(PeerAddress(numericHost: host, port: 25))
    #expect(peer.isLoopback)
    try ChannelPolicy.checkPlaintext(peer: peer, allowInsecure: false, hasCredentials: true)
  }

  @Test(arguments: ["192.0.2.7", "::ffff:192.0.2.7", "2001:db8::1", "128.0.0.1", "10.0.0.1"])
  func otherPeersNeedAllowInsecureAndNeverGetAuth(host: String) throws {
    let peer = try #require(PeerAddress(numericHost: host, port: 25))
    #expect(!peer.isLoopback)
    #expect(throws: SendFailure.self) {
      try ChannelPolicy.checkPlaintext(peer: peer, allowInsecure: false, hasCredentials: false)
    }
    try ChannelPolicy.checkPlaintext(peer: peer, allowInsecure: true, hasCredentials: false)
    do {
      try ChannelPolicy.checkPlaintext(peer: peer, allowInsecure: true, hasCredentials: true)
      Issue.record("AUTH over plaintext to \(host) was allowed")
    } catch {
      #expect(error.exitCode == 77)
      #expect(error.message.contains("AUTH is never sent over plaintext"))
    }
  }
}
