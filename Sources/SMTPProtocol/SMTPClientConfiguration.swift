/// What one SMTP session should do; the facade decides the policy flags (DESIGN §3).
public struct SMTPClientConfiguration: Sendable {

  /// The SASL mechanism to use.
  public enum Mechanism: Sendable, Hashable {
    /// PLAIN if offered, else LOGIN (DESIGN §4).
    case automatic
    /// PLAIN with an initial response (RFC 4616, RFC 4954 §4).
    case plain
    /// LOGIN (draft-murchison-sasl-login).
    case login
  }

  /// How far a session goes. Probing and account checks share every step before the transaction with sending,
  /// so the same policy applies to all three.
  public enum Goal: Sendable, Hashable {
    /// The whole transaction: MAIL, RCPT, DATA.
    case deliver
    /// Stop after the last EHLO (inside TLS when TLS is used), with QUIT: `sealpost probe`.
    case inspect
    /// Stop after AUTH succeeded (or after the last EHLO without credentials), with QUIT: `accounts check`.
    case authenticate
  }

  /// Credentials for AUTH.
  public struct Authentication: Sendable, Hashable {
    /// The user name; may be shown in transcripts.
    public var user: String
    /// The password; never shown.
    public var password: Secret
    /// The mechanism to use.
    public var mechanism: Mechanism

    /// Credentials for `user`.
    public init(user: String, password: Secret, mechanism: Mechanism = .automatic) {
      self.user = user
      self.password = password
      self.mechanism = mechanism
    }
  }

  /// How the channel is protected.
  public var security: TransportSecurity
  /// The EHLO/HELO argument.
  public var ehloName: String
  /// Credentials, or `nil` to send without AUTH.
  public var authentication: Authentication?
  /// Whether AUTH may go over plaintext; the facade sets it only for loopback peers (DESIGN §3.4).
  public var plaintextAuthAllowed: Bool
  /// Whether a 5xx to EHLO may be followed by HELO; the facade allows it inside implicit TLS or to loopback
  /// without AUTH (DESIGN §4).
  public var heloFallbackAllowed: Bool
  /// The envelope sender without angle brackets; `""` is the null reverse-path.
  public var reversePath: String
  /// The envelope recipients without angle brackets; at least one.
  public var recipients: [String]
  /// The content has 8-bit bytes: send `BODY=8BITMIME`, and fail if the server lacks 8BITMIME (RFC 6152).
  public var messageNeeds8BitMIME: Bool
  /// The envelope or headers need UTF-8: send `SMTPUTF8`, and fail if the server lacks it (RFC 6531).
  public var messageNeedsSMTPUTF8: Bool
  /// The content size in octets as sent: `SIZE=n` when the server lists SIZE, and a failure before MAIL when
  /// it exceeds the server's fixed maximum (RFC 1870).
  public var messageSize: Int?
  /// How far the session goes; `.deliver` unless probing or checking an account.
  public var goal: Goal = .deliver
  /// Delivery status notifications (RFC 3461): fail before MAIL if the server lacks DSN.
  public var dsn: DSNRequest?
  /// `REQUIRETLS` (RFC 8689): the message must only travel over verified TLS; fail before MAIL if the server
  /// does not offer it (in the list inside TLS).
  public var requireTLS = false
  /// The message's needs and size are not known yet: once the server's list is (inside TLS when TLS is used),
  /// the client asks for them with `.examineContent` before MAIL, and `contentExamined(_:)` adds them to
  /// `messageNeeds8BitMIME`, `messageNeedsSMTPUTF8` and `messageSize` (issue 10: a message that streams is read
  /// for them in a pass of its own, for what this server offers).
  public var examinesContent = false

  /// A configuration; `recipients` must not be empty.
  public init(
    security: TransportSecurity,
    ehloName: String,
    authentication: Authentication? = nil,
    plaintextAuthAllowed: Bool = false,
    heloFallbackAllowed: Bool = false,
    reversePath: String,
    recipients: [String],
    messageNeeds8BitMIME: Bool = false,
    messageNeedsSMTPUTF8: Bool = false,
    messageSize: Int? = nil,
    goal: Goal = .deliver,
    dsn: DSNRequest? = nil,
    requireTLS: Bool = false,
    examinesContent: Bool = false
  ) {
    self.security = security
    self.ehloName = ehloName
    self.authentication = authentication
    self.plaintextAuthAllowed = plaintextAuthAllowed
    self.heloFallbackAllowed = heloFallbackAllowed
    self.reversePath = reversePath
    self.recipients = recipients
    self.messageNeeds8BitMIME = messageNeeds8BitMIME
    self.messageNeedsSMTPUTF8 = messageNeedsSMTPUTF8
    self.messageSize = messageSize
    self.goal = goal
    self.dsn = dsn
    self.requireTLS = requireTLS
    self.examinesContent = examinesContent
  }

  /// Checks that every command this configuration leads to can be encoded: EHLO name, envelope addresses,
  /// credentials without NUL (DESIGN §3.8, §4: exit 65). Call it before connecting; `SMTPClient.start()` checks
  /// again and sends nothing if it fails.
  public func validate() throws(SMTPCommandError) {
    if goal == .deliver && recipients.isEmpty { throw SMTPCommandError("no recipients") }
    if case .on(let conditions) = dsn?.notify, conditions.isEmpty {
      throw SMTPCommandError("DSN NOTIFY needs at least one of SUCCESS, FAILURE, DELAY (or NEVER)")
    }
    if let envelopeID = dsn?.envelopeID,
      DSNRequest.xtext(envelopeID).count > DSNRequest.maximumEnvelopeIDLength
    {
      throw SMTPCommandError(
        "the DSN envelope ID is longer than \(DSNRequest.maximumEnvelopeIDLength) characters as xtext")
    }
    _ = try SMTPCommand.ehlo(ehloName).encoded()
    _ = try SMTPCommand.mail(reversePath: reversePath, parameters: mailParameters(sizeExtension: true))
      .encoded(utf8Paths: messageNeedsSMTPUTF8)
    for recipient in recipients {
      _ = try SMTPCommand.rcpt(forwardPath: recipient, parameters: rcptParameters(forwardPath: recipient))
        .encoded(
          utf8Paths: messageNeedsSMTPUTF8)
    }
    if let authentication {
      let ir = try SASL.plainInitialResponse(user: authentication.user, password: authentication.password)
      let login = try SASL.loginResponses(user: authentication.user, password: authentication.password)
      _ = try SMTPCommand.auth(mechanism: "PLAIN", initialResponse: ir).encoded()
      _ = try SMTPCommand.saslResponse(login.user).encoded()
      _ = try SMTPCommand.saslResponse(login.password).encoded()
    }
  }

  /// MAIL parameters: BODY=8BITMIME (RFC 6152 §2), SMTPUTF8 (RFC 6531 §3.4), SIZE=n (RFC 1870 §6), RET and
  /// ENVID (RFC 3461 §4.3, §4.4), REQUIRETLS (RFC 8689 §4.1).
  func mailParameters(sizeExtension: Bool) -> [String] {
    var parameters: [String] = []
    if messageNeeds8BitMIME { parameters.append("BODY=8BITMIME") }
    if messageNeedsSMTPUTF8 { parameters.append("SMTPUTF8") }
    if sizeExtension, let messageSize { parameters.append("SIZE=\(messageSize)") }
    if let dsn { parameters += dsn.mailParameters() }
    if requireTLS { parameters.append("REQUIRETLS") }
    return parameters
  }

  /// RCPT parameters: NOTIFY and ORCPT when DSN is asked for (RFC 3461 §4.1, §4.2).
  func rcptParameters(forwardPath: String) -> [String] {
    dsn?.rcptParameters(forwardPath: forwardPath) ?? []
  }
}
