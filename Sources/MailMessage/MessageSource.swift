// The contract for messages that stream (DESIGN §2: "bodies/attachments stream from a byte source"). A message is
// never required to be in memory: the sender asks for a pass over its bytes as often as it needs one (a check
// pass that finds what the content needs, then the pass that is sent; a dry run is one more pass).

/// What the server takes, so a message Sealpost builds can choose its transfer encodings and the form of its
/// addresses. A message given as it is (`--message`) ignores it.
public struct ContentOffer: Sendable, Hashable {
  /// The server offers 8BITMIME: a text part may go as 8bit instead of quoted-printable.
  public var eightBitMIME: Bool
  /// The server offers SMTPUTF8: headers may hold raw UTF-8 (RFC 6532) and domains stay as typed.
  public var smtpUTF8: Bool

  public init(eightBitMIME: Bool, smtpUTF8: Bool) {
    self.eightBitMIME = eightBitMIME
    self.smtpUTF8 = smtpUTF8
  }

  /// A server that offers neither: the most conservative form.
  public static let plain = ContentOffer(eightBitMIME: false, smtpUTF8: false)
}

/// One pass over a message's bytes, in order, with CRLF line ends and before dot-stuffing.
public protocol MessageReader {
  /// Fills the start of `buffer` with the next bytes and returns how many; 0 only at the end of the message.
  mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int
}

extension MessageReader {
  /// Reads the rest of the pass 64 KiB at a time, handing each piece to `body` (valid only during the call).
  public mutating func forEachPiece(_ body: (ArraySlice<UInt8>) -> Void) throws(MessageError) {
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      var result: Result<Int, MessageError> = .success(0)
      buffer.withUnsafeMutableBytes { raw in
        result = Result { () throws(MessageError) in try read(into: raw) }
      }
      let count = try result.get()
      if count == 0 { return }
      body(buffer[0..<count])
    }
  }
}

/// A message that can be read from the start as often as asked.
public protocol MessageSource: Sendable {
  /// Starts a new pass over the message as it is written for a server offering `offer`. Every pass for the same
  /// offer gives the same bytes; when they would not (a file changed between passes), a pass fails with a
  /// `MessageError` instead.
  func open(for offer: ContentOffer) throws(MessageError) -> any MessageReader
}

/// A message held in memory.
public struct InMemoryMessage: MessageSource {
  public let bytes: [UInt8]

  public init(_ bytes: [UInt8]) { self.bytes = bytes }

  public func open(for offer: ContentOffer) throws(MessageError) -> any MessageReader { Reader(bytes: bytes) }

  struct Reader: MessageReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(MessageError) -> Int {
      let count = min(buffer.count, bytes.count - offset)
      guard count > 0 else { return 0 }
      UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).copyBytes(
        from: bytes[offset..<offset + count])
      offset += count
      return count
    }
  }
}
