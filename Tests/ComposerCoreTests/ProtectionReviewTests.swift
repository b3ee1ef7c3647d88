import Foundation
import MailSender
import Testing

@testable import ComposerCore
@testable import SendPlanning

/// S/MIME on the review screen (issue 15): the sign and encrypt toggles, every recipient's certificate, and a
/// send refused while a recipient has no usable one (never a clear copy).
@Suite struct ProtectionReviewTests {
  /// An account with an S/MIME certificate and key, signing by default.
  static let signingAccount = """
    account work
    host mail.example.org
    port 465
    tls on
    tls_starttls off
    auth on
    user alice@example.org
    from alice@example.org
    passwordeval pass show mail
    smime_cert /keys/alice.pem
    smime_key /keys/alice.key
    smime_sign on

    """

  /// To bob, Bcc frank, a subject and a body; then the review.
  static func review(_ config: String = signingAccount, width: Int = 80, height: Int = 24) throws -> (
    ComposerModel, [ComposerEffect]
  ) {
    var model = try Fixtures.model(config, width: width, height: height)
    model.type("bob@example.org")
    model.press(.tab, .tab)
    model.type("frank@example.org")
    model.press(.tab)
    model.type("Q3")
    model.press(.tab)
    model.type("The figures.")
    let effects = model.press(.ctrl("x"))
    return (model, effects)
  }

  static func certificateOrder(_ effects: [ComposerEffect]) -> SendOrder? {
    for effect in effects { if case .checkCertificates(let order) = effect { return order } }
    return nil
  }

  static func sends(_ effects: [ComposerEffect]) -> SendOrder? {
    for effect in effects { if case .send(let order) = effect { return order } }
    return nil
  }

  static let frankMissing: [MessageProtectionPlan.RecipientStatus] = [
    .init(address: "alice@example.org", role: .from, certificate: .success("2027-12-01")),
    .init(address: "bob@example.org", role: .to, certificate: .success("2027-06-30")),
    .init(address: "frank@example.org", role: .bcc, certificate: .failure(.missing)),
  ]

  @Test func signingIsUnavailableWithoutTheAccountsCertificateAndSaysWhy() throws {
    var (model, _) = try Self.review(Fixtures.oneAccount)
    let review = try #require(model.review)
    #expect(!review.sign)
    #expect(review.signUnavailable?.contains("smime_cert") == true)
    #expect(model.press(.character("s")).isEmpty)
    #expect(model.review?.sign == false)
    #expect(model.status?.isError == true)
    #expect(model.status?.text.hasPrefix("signing is unavailable: the account has no smime_cert") == true)
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(
      lines.contains { $0.hasPrefix(" Sign      unavailable: the account has no smime_cert and smime_key") })
    #expect(lines.contains { $0.hasPrefix(" Encrypt   off (c turns it on)") })
    #expect(lines[23].contains("s sign  c encrypt"))
    // Without encryption the send goes, unsigned and unencrypted.
    let order = try #require(Self.sends(model.press(.character("y"))))
    #expect(!order.sign && !order.encrypt)
  }

  @Test func signFollowsTheAccountsDefaultAndEncryptionAsksTheRuntimeForTheCertificates() throws {
    var (model, opened) = try Self.review()
    #expect(Self.certificateOrder(opened) == nil, "encryption starts off: nothing is looked up")
    #expect(model.review?.sign == true, "smime_sign on")
    #expect(model.review?.encrypt == false)
    // `s` turns signing off, and it is remembered in the draft (saved as an edit is, when the timer fires).
    model.press(.character("s"))
    #expect(model.review?.sign == false)
    let saves = model.update(.timerFired(id: model.drafts.timer ?? -1))
    guard case .saveDraft(let snapshot, _)? = saves.first else {
      Issue.record("expected a save, got \(saves.map(\.name))")
      return
    }
    #expect(snapshot.sign == false && snapshot.encrypt == false)
    model.press(.character("s"))
    // `c` turns encryption on: the certificates are I/O, an effect for the runtime.
    let asked = model.press(.character("c"))
    let order = try #require(Self.certificateOrder(asked))
    #expect(order.fields.to == ["bob@example.org"])
    #expect(order.fields.bcc == ["frank@example.org"])
    #expect(model.review?.encrypt == true)
    // Nothing is sent while they are being looked up.
    #expect(Self.sends(model.press(.character("y"))) == nil)
    #expect(model.status?.text == "cannot send: the recipients' certificates are still being looked up")
    // An answer to an earlier look-up is ignored.
    _ = model.update(.certificatesChecked(order: order.id - 1, .success([])))
    #expect(model.review?.certificates == nil)
    _ = model.update(
      .certificatesChecked(
        order: order.id,
        .success(
          Self.frankMissing.map {
            var usable = $0
            usable.certificate = .success("2027-01-31")
            return usable
          })))
    let sent = try #require(Self.sends(model.press(.character("y"))))
    #expect(sent.sign && sent.encrypt)
    #expect(sent.fields.bcc == ["frank@example.org"])
    #expect(model.screen == .send)
  }

  @Test func aRecipientWithoutAUsableCertificateRefusesTheSendAndNamesIt() throws {
    var (model, _) = try Self.review()
    let order = try #require(Self.certificateOrder(model.press(.character("c"))))
    _ = model.update(.certificatesChecked(order: order.id, .success(Self.frankMissing)))
    #expect(model.review?.sendOrder == nil)
    let lines = model.render(theme: try Fixtures.theme(), width: 80, height: 24).lines
    #expect(
      lines[22].hasPrefix(" cannot send: no usable certificate for frank@example.org — encryption is on"))
    #expect(!lines[23].contains("y send"), "the send key is off the key line")
    #expect(Self.sends(model.press(.character("y"))) == nil)
    #expect(model.status?.isError == true)
    #expect(model.status?.text.contains("frank@example.org") == true)
    #expect(model.screen == .review)
    // Encryption off: the message may go signed (the person's choice, said on the screen).
    let sent = try #require(Self.sends(model.press(.character("c"), .character("y"))))
    #expect(sent.sign && !sent.encrypt)
  }

  /// The review with both toggles and a Bcc recipient without a certificate, against a snapshot written by hand.
  @Test func theReviewWithAMissingCertificate() throws {
    var (model, _) = try Self.review()
    let order = try #require(Self.certificateOrder(model.press(.character("c"))))
    _ = model.update(.certificatesChecked(order: order.id, .success(Self.frankMissing)))
    try Snapshot(named: "review-smime-missing").verify(
      model.render(theme: try Fixtures.theme(), width: 80, height: 24))
  }

  @Test func aLookUpThatFailsRefusesTheSend() throws {
    var (model, _) = try Self.review()
    let order = try #require(Self.certificateOrder(model.press(.character("c"))))
    _ = model.update(
      .certificatesChecked(order: order.id, .failure(ComposerProblem("no folder for certificates"))))
    #expect(Self.sends(model.press(.character("y"))) == nil)
    #expect(
      model.status?.text == "cannot send: the certificates cannot be looked up: no folder for certificates")
  }

  @Test func theDraftRemembersTheTogglesAndGivesThemBack() throws {
    var (model, _) = try Self.review()
    model.press(.character("s"), .character("c"))
    let snapshot = model.draftSnapshot()
    #expect(snapshot.sign == false && snapshot.encrypt == true)
    #expect(snapshot.draft.sign == false && snapshot.draft.encrypt == true)
    // Continued from the drafts list at start: the review opens with the same toggles and looks them up.
    var again = ComposerModel(.init(), width: 80, height: 24, now: Fixtures.now)
    _ = again.start()
    _ = again.update(.catalogLoaded(.success(try Fixtures.catalog(Self.signingAccount))))
    var saved = snapshot.draft
    saved.id = "1-a-1"
    _ = again.update(.draftsListed(.success([saved])))
    again.press(.enter)
    #expect(again.screen == .compose)
    let effects = again.press(.ctrl("x"))
    #expect(again.review?.sign == false)
    #expect(again.review?.encrypt == true)
    #expect(Self.certificateOrder(effects) != nil)
  }

  @Test func theSessionSaysSignedAndEncryptedOnceSent() throws {
    var (model, _) = try Self.review()
    let order = try #require(Self.certificateOrder(model.press(.character("c"))))
    _ = model.update(.certificatesChecked(order: order.id, .success([])))
    _ = try #require(Self.sends(model.press(.character("y"))))
    _ = model.update(
      .sendProtected(
        summary: "signed by alice@example.org, encrypted for 2 recipients (and 1 Bcc copy encrypted apart)",
        copies: 2))
    let reply = ReplyRecord(code: 250, enhanced: "2.0.0", lines: ["250 2.0.0 Ok"])
    _ = model.update(.sendFinished(SendReport(failure: nil, finalReply: reply)))
    let lines = model.render(theme: try Fixtures.theme(), width: 120, height: 30).lines
    #expect(
      lines.contains {
        $0.contains("SENT — sent: 250 2.0.0 Ok; signed by alice@example.org, encrypted for 2 recipients")
      })
  }
}
