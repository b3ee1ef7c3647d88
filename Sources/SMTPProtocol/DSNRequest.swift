/// A request for delivery status notifications (RFC 3461): what to be told about each recipient, what a
/// notice returns of the message, and an envelope identifier that comes back in every notice.
public struct DSNRequest: Sendable, Hashable {
  /// An event a notice is asked for (RFC 3461 §4.1).
  public enum Condition: String, Sendable, Hashable, CaseIterable, Comparable {
    case success = "SUCCESS"
    case failure = "FAILURE"
    case delay = "DELAY"

    public static func < (lhs: Condition, rhs: Condition) -> Bool {
      allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
  }

  /// `NOTIFY` of each RCPT (RFC 3461 §4.1).
  public enum Notify: Sendable, Hashable {
    /// `NOTIFY=NEVER`: no notice at all, not even of a failure.
    case never
    /// `NOTIFY=SUCCESS,FAILURE,DELAY` or any non-empty subset, in that order.
    case on(Set<Condition>)
  }

  /// `RET` of MAIL (RFC 3461 §4.3): what a failure notice carries of the message.
  public enum Return: String, Sendable, Hashable {
    /// The whole message.
    case full = "FULL"
    /// The headers only.
    case headers = "HDRS"
  }

  /// nil: no NOTIFY, the server's default (failures and delays).
  public var notify: Notify?
  /// nil: no RET, the server's choice.
  public var returnContent: Return?
  /// The envelope identifier as text (xtext-encoded when sent); nil: none.
  public var envelopeID: String?

  /// A request; every part is optional.
  public init(notify: Notify? = nil, returnContent: Return? = nil, envelopeID: String? = nil) {
    self.notify = notify
    self.returnContent = returnContent
    self.envelopeID = envelopeID
  }

  /// The longest ENVID, in xtext characters (RFC 3461 §4.4).
  public static let maximumEnvelopeIDLength = 100

  /// MAIL parameters: `RET=…`, `ENVID=…` (RFC 3461 §4.3, §4.4).
  func mailParameters() -> [String] {
    var parameters: [String] = []
    if let returnContent { parameters.append("RET=\(returnContent.rawValue)") }
    if let envelopeID { parameters.append("ENVID=\(Self.xtext(envelopeID))") }
    return parameters
  }

  /// RCPT parameters: `NOTIFY=…` and `ORCPT=rfc822;…` with the address as given (RFC 3461 §4.1, §4.2). ORCPT
  /// is optional; a UTF-8 address gets none, as the `rfc822` address type is ASCII only (RFC 6533 §3 has a
  /// `utf-8` type for it).
  func rcptParameters(forwardPath: String) -> [String] {
    var parameters: [String] = []
    switch notify {
    case nil: break
    case .never: parameters.append("NOTIFY=NEVER")
    case .on(let conditions):
      parameters.append("NOTIFY=" + conditions.sorted().map(\.rawValue).joined(separator: ","))
    }
    if forwardPath.utf8.allSatisfy({ $0 < 0x80 }) {
      parameters.append("ORCPT=rfc822;" + Self.xtext(forwardPath))
    }
    return parameters
  }

  /// RFC 3461 §4: `xchar` ("!" to "~" except "+" and "=") as is, every other octet as "+" and two uppercase
  /// hex digits, so a value never holds a space, a control or an "=".
  public static func xtext(_ text: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for byte in text.utf8 {
      if (0x21...0x7E).contains(byte) && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "=") {
        out.append(byte)
      } else {
        out += [UInt8(ascii: "+"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
