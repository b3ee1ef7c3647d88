import Foundation
import SMTPProtocol
import SMTPTransport
import Testing

@testable import ComposerCore
@testable import MailSender
@testable import SendPlanning

/// The picker, the probe and the preview, rendered.
@Suite struct ScreenFlowTests {
  init() { useUTF8Locale() }

  @Test func thePickerListsEveryAccountAndWhyOneCannotBeUsed() throws {
    let model = try Fixtures.model(ComposerUpdateTests.twoAccounts)
    try Snapshot(named: "picker").verify(model.render(theme: try Fixtures.theme(), width: 80, height: 24))
  }

  @Test func anUnreadableConfigIsShownWithItsReasonAndTheProbeStaysReachable() throws {
    var model = ComposerModel(width: 80, height: 24, now: Fixtures.now)
    _ = model.start()
    let reason = "config:3: tls_trust_file: the trust file is writable by others (the value is not shown)"
    _ = model.update(
      .catalogLoaded(.failure(PlanningError(.configuration, PlanningText(stringLiteral: reason)))))
    #expect(model.screen == .picker)
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(lines[2].hasPrefix(" The accounts cannot be read:"))
    #expect(
      lines[3].hasPrefix(" config:3: tls_trust_file: the trust file is writable by others (the value is "))
    #expect(lines[4].hasPrefix("   not shown)"))
    #expect(lines[23].hasPrefix(" p F2 probe  F1 ? help  ^Q quit "), "nothing to compose with: no Enter")
    #expect(model.press(.enter).isEmpty)
    model.press(.character("p"))
    #expect(model.screen == .probeForm)
    model.press(.escape)
    #expect(model.screen == .picker)
  }

  @Test func aProbeStartedAtStartShowsTheTLSPaneAndTheCapabilityDiff() throws {
    let order = ProbeOrder(host: "mx.example.org", port: 25, security: .startTLS)
    var model = ComposerModel(.init(probe: order), width: 80, height: 24, now: Fixtures.now)
    let effects = model.start()
    #expect(effects.map(\.name) == ["loadCatalog", "probe"])
    #expect(model.screen == .probe)
    _ = model.update(.catalogLoaded(.success(try Fixtures.catalog(Fixtures.oneAccount))))
    #expect(model.screen == .probe, "the accounts wait behind the probe")
    _ = model.update(
      .session(Transcripts.event(0.04, .tls(.established(Transcripts.summary()), showsChain: true))))
    var session = SendReport(failure: nil, goal: .inspect)
    session.tls = Transcripts.summary()
    session.capabilitiesBeforeTLS = Capabilities(keywords: [
      "STARTTLS": [], "PIPELINING": [], "SIZE": ["1000"],
    ])
    session.capabilitiesAfterTLS = Capabilities(keywords: [
      "AUTH": ["PLAIN", "LOGIN"], "PIPELINING": [], "SIZE": ["1000"],
    ])
    let request = ProbeRequest(host: "mx.example.org", port: 25, security: .startTLS)
    _ = model.update(
      .probeFinished(
        ProbeReport(request: request, session: session, versions: [], warnings: [], transcript: [])))
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(lines[0].hasPrefix(" Sealpost · probe mx.example.org:25 "))
    #expect(lines[13].hasPrefix("─ TLS and capabilities ─"))
    #expect(lines[14].hasPrefix("TLS 1.3  TLS_AES_256_GCM_SHA384  X25519 "))
    #expect(lines[15].hasPrefix("verdict: verified mail.example.org "))
    #expect(lines[16].hasPrefix("only before TLS: STARTTLS "))
    #expect(lines[17].hasPrefix("only inside TLS: AUTH PLAIN LOGIN "))
    #expect(lines[22].hasPrefix(" trustworthy: TLS 1.3 TLS_AES_256_GCM_SHA384, X25519, certificate verified"))
    model.press(.character("q"))
    #expect(model.screen == .compose, "back to the account the catalog gave")
  }

  static func previewModel() throws -> ComposerModel {
    var model = try Fixtures.model()
    model.type("Zoë <zoe@example.org>")
    model.press(.tab, .tab, .tab)
    model.type("Grüße")
    model.press(.tab)
    model.type("Hallo Zoë")
    model.press(.ctrl("t"))
    model.type("/tmp/plan.pdf")
    _ = model.press(.enter)
    _ = model.update(.attachmentChecked(path: "/tmp/plan.pdf", result: .success(2_048_000)))
    model.press(.escape)
    model.press(.ctrl("p"))
    return model
  }

  @Test func thePreviewShowsTheMessageAsReadWithTheAttachments() throws {
    let model = try Self.previewModel()
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines.map {
      String($0.reversed().drop { $0 == " " }.reversed())
    }
    #expect(
      Array(lines[1...8]) == [
        "From: alice@example.org", "To: Zoë <zoe@example.org>", "Subject: Grüße", "Attachments:",
        "  plan.pdf (2.0 MiB)", "", "Hallo Zoë", "",
      ])
  }

  @Test func theRawMessageIsWhatTheAssemblyBuilds() throws {
    var model = try Self.previewModel()
    model.press(.character("r"))
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines.map {
      String($0.reversed().drop { $0 == " " }.reversed())
    }
    #expect(lines[0].hasPrefix(" Sealpost · raw message (as send --dry-run prints it)"))
    var fields = MessageFields()
    fields.to = ["Zoë <zoe@example.org>"]
    fields.subject = "Grüße"
    fields.body = Array("Hallo Zoë".utf8)
    let account = try #require(try Fixtures.catalog(Fixtures.oneAccount).config?.accounts.first)
    let assembled = try MessageAssembly.assemble(
      fields, account: account, date: Date(timeIntervalSince1970: Double(Fixtures.now)))
    var expected = String(decoding: assembled.content.bytes, as: UTF8.self).components(separatedBy: "\r\n")
    if expected.last == "" { expected.removeLast() }
    // The Message-ID is new for every message; everything else is the same text.
    let shown = Array(lines[1..<(1 + expected.count)])
    #expect(shown.count == expected.count)
    for (row, line) in zip(shown, expected) where !line.hasPrefix("Message-ID:") {
      #expect(row == line)
    }
    #expect(expected.contains { $0.hasPrefix("Date: ") })
  }
}
