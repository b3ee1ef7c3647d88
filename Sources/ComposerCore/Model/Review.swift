import Accounts
import FoundationEssentials
import MailMessage
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

/// The review before sending: the channel as the planning layer will set it up, the envelope beside the
/// headers, warnings, and what stops the send. Nothing is sent without passing it.
struct Review: Sendable {
  /// Label and value rows, in order.
  var channel: [(String, String)] = []
  var envelope: [(String, String)] = []
  /// The recipients the send leaves out: this message's recipients that already have it (the draft's
  /// `delivered`, by ``DeliveredRecipients``).
  var leftOut: [String] = []
  var headers: [(String, String)] = []
  /// Things the person may want to fix; `y` still sends.
  var warnings: [String] = []
  /// Why `y` cannot send (a bad address, a channel the policy refuses).
  var blocking: [String] = []
  /// The assembly's remarks (the linter's findings, the planning notes), once the runtime built the message.
  var remarks = MessageRemarks()
  /// The order whose remarks are awaited.
  var checking: Int?
  /// The overrides the channel rows were made with, and whether a password came at start: the rows are made
  /// again from the runtime's plan.
  var overrides = ChannelOverrides()
  var passwordFromEnvironment = false
  /// Where the send goes, for the pin offer.
  var host: String?
  var port: UInt16?
  var plaintext = false
  var order: SendOrder?
  /// The first row of the review shown (it scrolls when its rows do not fit the screen).
  var scroll = 0

  // S/MIME (issue 15): the toggles, and for encryption every recipient's certificate.
  /// Why signing cannot be offered (the account lacks `smime_cert` or `smime_key`); nil when it can.
  var signUnavailable: String?
  var sign = false
  var encrypt = false
  /// Every recipient's certificate (the sender's first) as the runtime checked them; nil until it answered.
  var certificates: [MessageProtectionPlan.RecipientStatus]?
  /// The order whose certificates are awaited.
  var checkingCertificates: Int?
  /// Why the certificates could not be looked up.
  var certificateProblem: String?

  init(
    draft: Draft, account: Account?, overrides: ChannelOverrides, passwordFromEnvironment: Bool
  ) {
    let fields = draft.fields
    if let account, account.smimeCertificate != nil, account.smimeKey != nil {
      sign = draft.sign ?? account.smimeSign
    } else {
      signUnavailable = "the account has no smime_cert and smime_key"
    }
    encrypt = draft.encrypt
    self.overrides = overrides
    self.passwordFromEnvironment = passwordFromEnvironment
    for field in Draft.Field.allCases {
      if let problem = draft.problems[field] { blocking.append("\(field.label) \(problem)") }
    }
    if let problem = draft.controlProblem { blocking.append(problem) }

    // The channel, merged as a send merges it (the trust file named, not read: the runtime reads it), until
    // the runtime answers with the send's own plan (``checked(order:_:channel:)``): the pin file is read there.
    var display = overrides
    if let account, overrides.pins.isEmpty, overrides.caFile == nil {
      display.caFile = AccountEntry.displayOverrides(for: account).caFile
    }
    var plan: ChannelPlan?
    do throws(PlanningError) {
      let merged = try ChannelPlan(overrides: display, account: account)
      try merged.checkPlaintext()
      plan = merged
    } catch {
      blocking.append(AccountEntry.reason(ComposerModel.words(error)))
    }
    if let plan {
      host = plan.host
      port = plan.port
      plaintext = plan.security == .plaintext
      channel = Self.channelRows(plan, overrides: overrides, passwordFromEnvironment: passwordFromEnvironment)
    }

    // The envelope and the headers, checked as a send checks them.
    var checked: MessageAssembly.CheckedFields?
    if blocking.isEmpty {
      do throws(PlanningError) {
        checked = try MessageAssembly.check(fields, account: account)
      } catch {
        if !(fields.to.isEmpty && fields.cc.isEmpty && fields.bcc.isEmpty) {
          blocking.append(AccountEntry.reason(ComposerModel.words(error)))
        }
      }
    }
    // The composer never sends a complete message, so the checked fields always name a sender.
    if let checked, let sender = checked.sender {
      // Exactly the RCPT TO lines the send makes: who already has the message is left out by the planning
      // layer's own rule (red-team: the review listed a recipient the send then left out).
      let split = DeliveredRecipients.split(
        Mailbox.envelope(checked.to + checked.cc + checked.bcc).map(\.address), delivered: draft.delivered)
      let recipients = split.sent
      leftOut = split.leftOut
      envelope =
        [("MAIL FROM", "<\(sender.address)>")]
        + recipients.map { ("RCPT TO", "<\($0)>") }
      headers = [("From", Self.shown(sender))]
      if !checked.to.isEmpty { headers.append(("To", checked.to.map(Self.shown).joined(separator: ", "))) }
      if !checked.cc.isEmpty { headers.append(("Cc", checked.cc.map(Self.shown).joined(separator: ", "))) }
      if !checked.bcc.isEmpty {
        headers.append(("Bcc", checked.bcc.map(\.address).joined(separator: ", ") + " (envelope only)"))
      }
      headers.append(("Subject", checked.subject ?? "(none)"))
    }

    // Warnings (issue 9 §2).
    if fields.to.isEmpty && fields.cc.isEmpty && fields.bcc.isEmpty {
      warnings.append("no recipient: fill in To, Cc or Bcc")
      blocking.append("no recipient")
    }
    if fields.subject == nil { warnings.append("the subject is empty") }
    if draft.attachments.isEmpty, let word = Self.mentionedAttachment(draft.body.text) {
      warnings.append("the body says \"\(word)\" but nothing is attached (Ctrl-T attaches)")
    }
    if let sender = checked?.sender, let user = plan?.user, let loginDomain = Self.domain(of: user),
      loginDomain != sender.domain.lowercased()
    {
      warnings.append(
        "the From domain \(UntrustedText(sender.domain).escaped) differs from the login's "
          + "(\(UntrustedText(loginDomain).escaped)): the server may refuse or rewrite it")
    }
    for attachment in draft.attachments where attachment.size == nil {
      blocking.append("\(attachment.path): still being checked")
    }
    // First among the warnings, every name (wrapped, never cut to a line): the recipients of this message
    // that the send leaves out, not the draft's list.
    if let sentTo = ComposerModel.deliveredText(leftOut) {
      warnings.insert("already sent to \(sentTo): y sends only to the other recipients", at: 0)
    }
    if blocking.isEmpty {
      // A message sent before (partly, or not at all) goes again with its first Date and Message-ID.
      order = SendOrder(
        account: account?.name, fields: fields, attachments: draft.attachmentPaths, overrides: overrides,
        date: draft.sentDate.map { Date(timeIntervalSince1970: Double($0)) }, messageID: draft.messageID,
        delivered: leftOut)
    }
  }

  /// A mailbox as a person reads it: the display name as typed (quoted when it holds a comma or another
  /// special, as it was typed), then `<address>` — not the header's RFC 2047 form (by hand: the review showed
  /// `=?UTF-8?B?5bGx55SwIOWkqumDjg==?=` for 山田 太郎; the raw preview is where the encoded form is seen).
  static func shown(_ mailbox: Mailbox) -> String {
    guard let name = mailbox.displayName else { return mailbox.address }
    let specials: Set<Character> = ["(", ")", "<", ">", "[", "]", ":", ";", "@", "\\", ",", ".", "\""]
    guard name.contains(where: specials.contains) else { return "\(name) <\(mailbox.address)>" }
    var quoted = ""
    for character in name {
      if character == "\"" || character == "\\" { quoted.append("\\") }
      quoted.append(character)
    }
    return "\"\(quoted)\" <\(mailbox.address)>"
  }

  /// Takes the runtime's answer to the order awaited (an answer to an earlier one is ignored). A message the
  /// assembly cannot build, or whose channel cannot be planned, cannot be sent. The channel rows then come from
  /// `channel`, the plan the send itself makes (`ChannelPlan.checked`): a pin recorded for the account's
  /// HOST:PORT is the trust the review names, as it is the trust the send uses.
  mutating func checked(
    order id: Int, _ result: Result<MessageRemarks, ComposerProblem>, channel plan: ChannelPlan? = nil
  ) {
    guard checking == id else { return }
    checking = nil
    switch result {
    case .success(let remarks):
      self.remarks = remarks
      if let plan {
        host = plan.host
        port = plan.port
        plaintext = plan.security == .plaintext
        channel = Self.channelRows(
          plan, overrides: overrides, passwordFromEnvironment: passwordFromEnvironment)
      }
    case .failure(let problem):
      blocking.append(problem.message)
      order = nil
    }
  }

  /// Takes the runtime's certificates for the order awaited (an answer to an earlier one is ignored).
  mutating func certificatesChecked(
    order id: Int, _ result: Result<[MessageProtectionPlan.RecipientStatus], ComposerProblem>
  ) {
    guard checkingCertificates == id else { return }
    checkingCertificates = nil
    switch result {
    case .success(let statuses): certificates = statuses
    case .failure(let problem): certificateProblem = problem.message
    }
  }

  /// Why the send is refused while encryption is on (DESIGN §3.10: never a clear copy), naming each
  /// recipient without a usable certificate; nil when nothing about S/MIME stops it.
  var protectionBlock: String? {
    guard encrypt, order != nil else { return nil }
    if let certificateProblem { return "the certificates cannot be looked up: \(certificateProblem)" }
    guard let certificates else { return "the recipients' certificates are still being looked up" }
    let missing = certificates.filter { !$0.isUsable }.map { UntrustedText($0.address).escaped }
    guard !missing.isEmpty else { return nil }
    return "no usable certificate for \(missing.joined(separator: ", ")) — encryption is on, and nothing is "
      + "ever sent in clear (c turns encryption off)"
  }

  /// The order `y` sends: the message with the toggles, or nil while something stops it.
  var sendOrder: SendOrder? {
    guard var order, protectionBlock == nil else { return nil }
    order.sign = sign
    order.encrypt = encrypt
    return order
  }

  /// "attached" or "attachment" as a word of the body (any case), the one found.
  static func mentionedAttachment(_ body: String) -> String? {
    let words = body.lowercased().split { !$0.isLetter }
    for word in words where word == "attached" || word == "attachment" || word == "attachments" {
      return String(word)
    }
    return nil
  }

  /// The domain of a login that is an address (`alice@example.org`), lowercased.
  static func domain(of user: String) -> String? {
    guard let at = user.lastIndex(of: "@") else { return nil }
    let domain = user[user.index(after: at)...]
    return domain.isEmpty ? nil : domain.lowercased()
  }

  static func channelRows(
    _ plan: ChannelPlan, overrides: ChannelOverrides, passwordFromEnvironment: Bool
  ) -> [(String, String)] {
    var rows: [(String, String)] = []
    switch plan.security {
    case .implicitTLS: rows.append(("Transport", "implicit TLS (TLS from the first byte)"))
    case .startTLS: rows.append(("Transport", "STARTTLS (plaintext greeting, then TLS before anything else)"))
    case .plaintext:
      rows.append(("Transport", "PLAINTEXT: no TLS, as the account asks; every line is marked"))
    }
    rows.append(("Server", plan.hostAndPort))
    if plan.security != .plaintext {
      rows.append(("Trust", trustText(plan, overrides: overrides)))
    }
    if let user = plan.user {
      let mechanism =
        switch plan.mechanism {
        case .automatic: "PLAIN, else LOGIN"
        case .plain: "PLAIN"
        case .login: "LOGIN"
        }
      rows.append(("Login", "\(UntrustedText(user).escaped) with \(mechanism), only inside TLS"))
      let source: String
      if passwordFromEnvironment {
        source = "given at start (password command or SEALPOST_PASSWORD)"
      } else if let account = plan.account, plan.isAccountServer {
        source = account.secretSource.summary
      } else {
        source = "asked for when sending"
      }
      rows.append(("Password", source))
    } else {
      rows.append(("Login", "none (the account has auth off)"))
    }
    return rows
  }

  static func trustText(_ plan: ChannelPlan, overrides: ChannelOverrides) -> String {
    switch plan.trust {
    case .pins(let pins):
      let text = pins.map(TranscriptText.pinText).joined(separator: ", ")
      guard let recorded = plan.recordedPins else {
        return "pinned key \(text) (chain and name shown, not required)"
      }
      // DESIGN §6: the pins recorded in the pin file for this HOST:PORT, named with the file, as the send trusts
      // them (beside any of the account's own).
      let file = UntrustedText(recorded.path).escaped
      let which =
        recorded.pins.count == pins.count
        ? "" : recorded.pins.map(TranscriptText.pinText).joined(separator: ", ") + " "
      return "pinned key \(text) (\(which)recorded in \(file); chain and name shown, not required)"
    case .certificateAuthorities(nil):
      return "the system's CA store and the name \(UntrustedText(plan.host).escaped)"
    case .certificateAuthorities(.some):
      // The account's tls_trust_file: named by its line, never by its value (issue 7).
      if let account = plan.account, overrides.caFile == nil {
        return "the CA file of \(account.location(of: "tls_trust_file")) (tls_trust_file) and the name"
      }
      return "a CA file and the name"
    case .certificateAuthorityPEM(_, let source):
      // The account's tls_trust_file as the send read it: worded as before it was read.
      if let account = plan.account, overrides.caFile == nil {
        return "the CA file of \(account.location(of: "tls_trust_file")) (tls_trust_file) and the name"
      }
      return "the CA file \(source) and the name"
    }
  }
}

extension ComposerModel {
  static let reviewKeys: [KeyHelp] = [
    KeyHelp("y", "send the message", main: true, short: "send"),
    KeyHelp("s", "S/MIME: sign with the account's certificate, or not", main: true, short: "sign"),
    KeyHelp("c", "S/MIME: encrypt for every recipient and the sender, or not", main: true, short: "encrypt"),
    KeyHelp("e q Esc", "back to compose", main: true, short: "back"),
    KeyHelp("Ctrl-P", "preview", main: true, short: "preview"),
    KeyHelp("↑ ↓ j k PgUp PgDn", "scroll the review (Home, End: its first, its last row)"),
    KeyHelp("F1 ?", "this help", main: true, short: "help"),
    KeyHelp("Ctrl-Q", "quit", main: true, short: "quit"),
  ]

  /// The review's keys as they stand: `y` leaves the key line while the send is refused (the help still
  /// lists it, saying why not).
  var reviewKeyTable: [KeyHelp] {
    guard review?.sendOrder == nil else { return Self.reviewKeys }
    return Self.reviewKeys.map { key in
      guard key.keys == "y" else { return key }
      return KeyHelp("y", "send the message (not now: see the status line)")
    }
  }

  /// Opens the review; once the message passes its checks, asks the runtime for the assembly's remarks.
  mutating func openReview() -> [ComposerEffect] {
    draft.checkAll()
    draft.layout(width: width, height: height)
    var opened = Review(
      draft: draft, account: account, overrides: overrides,
      passwordFromEnvironment: startup.passwordFromEnvironment)
    var effects: [ComposerEffect] = []
    if opened.order != nil {
      let check = messageOrder()
      opened.checking = check.id
      effects.append(.checkMessage(check))
    }
    review = opened
    screen = .review
    return effects + lookUpCertificates()
  }

  /// With encryption on, asks the runtime for every recipient's certificate (the send is refused until they
  /// are known and usable).
  mutating func lookUpCertificates() -> [ComposerEffect] {
    guard var current = review, current.encrypt, current.order != nil else { return [] }
    let lookUp = messageOrder()
    current.certificates = nil
    current.certificateProblem = nil
    current.checkingCertificates = lookUp.id
    review = current
    return [.checkCertificates(lookUp)]
  }

  /// `s` and `c`: the toggles, remembered in the draft (saved as an edit is).
  mutating func toggleProtection(sign toggleSign: Bool) -> [ComposerEffect] {
    guard var current = review else { return [] }
    if toggleSign {
      if let reason = current.signUnavailable {
        status = StatusLine(error: "signing is unavailable: \(reason)")
        return []
      }
      current.sign.toggle()
      draft.sign = current.sign
      status = StatusLine(current.sign ? "the message will be signed" : "the message will not be signed")
      review = current
      return noteEdit()
    }
    current.encrypt.toggle()
    draft.encrypt = current.encrypt
    status = current.encrypt ? nil : StatusLine("the message will not be encrypted")
    review = current
    return noteEdit() + lookUpCertificates()
  }

  /// Moves the review's rows by `rows` (a page, one row), no further than its first or its last row.
  mutating func scrollReview(by rows: Int) {
    guard var current = review else { return }
    let total = reviewRows(current).count
    let (first, count) = reviewWindow(rows: total, scroll: current.scroll)
    current.scroll = min(max(0, first + rows), max(0, total - count))
    review = current
  }

  mutating func reviewKey(_ key: Key) -> [ComposerEffect] {
    switch key {
    case .character("y"):
      guard let review, let order = review.sendOrder, let host = review.host, let port = review.port else {
        let reason = review?.blocking.first ?? review?.protectionBlock ?? "nothing to send"
        status = StatusLine(error: "cannot send: \(reason)")
        return []
      }
      status = nil
      session = Session(send: order, host: host, port: port, plaintext: review.plaintext)
      screen = .send
      return [.send(order)]
    case .character("e"), .character("q"), .escape:
      screen = .compose
    case .ctrl("p"):
      openPreview()
    case .character("s"):
      return toggleProtection(sign: true)
    case .character("c"):
      return toggleProtection(sign: false)
    case .up, .character("k"): scrollReview(by: -1)
    case .down, .character("j"): scrollReview(by: 1)
    case .pageUp: scrollReview(by: -max(1, reviewPage - 2))
    case .pageDown, .character(" "): scrollReview(by: max(1, reviewPage - 2))
    case .home: scrollReview(by: -Int.max / 2)
    case .end, .character("G"): scrollReview(by: Int.max / 2)
    default:
      break
    }
    return []
  }
}
