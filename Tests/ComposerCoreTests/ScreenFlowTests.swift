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
    #expect(model.press(.character("q")).map(\.name) == ["listDrafts"])
    _ = model.update(.draftsListed(.success([])))
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

  static func trimmed(_ model: ComposerModel) throws -> [String] {
    model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines.map {
      String($0.reversed().drop { $0 == " " }.reversed())
    }
  }

  /// The raw view is the runtime's work (the attachments are files): `r` asks for the order a send would make,
  /// attachments and the model's date included, and shows "building…" until the answer to it arrives.
  @Test func theRawMessageIsAskedOfTheRuntimeWithTheAttachments() throws {
    var model = try Self.previewModel()
    let effects = model.press(.character("r"))
    guard case .renderRaw(let order)? = effects.first, effects.count == 1 else {
      Issue.record("expected one renderRaw, got \(effects.map(\.name))")
      return
    }
    #expect(order.account == "work")
    #expect(order.attachments == ["/tmp/plan.pdf"])
    #expect(order.fields.to == ["Zoë <zoe@example.org>"])
    #expect(order.fields.subject == "Grüße")
    #expect(order.fields.body == Array("Hallo Zoë".utf8))
    #expect(order.date == Date(timeIntervalSince1970: Double(Fixtures.now)))
    var lines = try Self.trimmed(model)
    #expect(lines[0].hasPrefix(" Sealpost · raw message (as send --dry-run prints it)"))
    #expect(lines[1] == "building the raw message…")
    // Back to the message as read and to the raw view again: the order already asked for is awaited.
    #expect(model.press(.character("r")).isEmpty)
    #expect(model.press(.character("r")).isEmpty)

    // An answer to another order (an earlier preview's) is ignored.
    _ = model.update(
      .rawRendered(order: order.id - 1, .success(RawMessage(lines: ["stale"], omittedLines: 0))))
    #expect(try Self.trimmed(model)[1] == "building the raw message…")

    let raw = RawMessage(
      lines: ["From: alice@example.org", "To: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.org>"], omittedLines: 7_123)
    _ = model.update(.rawRendered(order: order.id, .success(raw)))
    lines = try Self.trimmed(model)
    #expect(
      Array(lines[1...3]) == [
        "From: alice@example.org", "To: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.org>",
        "… and 7123 more lines, not shown here (send --dry-run prints them all)",
      ])
    #expect(model.press(.character("r")).isEmpty, "shown again without asking")
    #expect(model.press(.character("r")).isEmpty)
    #expect(try Self.trimmed(model)[1] == "From: alice@example.org")

    // A new preview is a new message (a new Message-ID): asked again, with a new order.
    model.press(.character("q"))
    model.press(.ctrl("p"))
    let again = model.press(.character("r"))
    guard case .renderRaw(let second)? = again.first else {
      Issue.record("expected renderRaw, got \(again.map(\.name))")
      return
    }
    #expect(second.id != order.id)
    _ = model.update(.rawRendered(order: order.id, .success(raw)))
    #expect(try Self.trimmed(model)[1] == "building the raw message…", "the first order's answer is stale")
    _ = model.update(.rawRendered(order: second.id, .failure(ComposerProblem("cannot read the attachment"))))
    #expect(try Self.trimmed(model)[1] == "The message cannot be built yet: cannot read the attachment")
  }
}
