@_exported import MailMessage
@_exported import SMTPProtocol
@_exported import SMTPTransport

/// The one sender both the terminal UI and the CLI use (DESIGN §2).
///
/// `send` runs the whole session on the calling thread: connect, TLS, SMTP, and the security policy of
/// DESIGN §3, which is enforced here and not by callers. Events reach `observer` as they happen; a send can be
/// cancelled from any thread through `cancellation` (after the final dot that yields "delivery unknown").
public enum MailSender {
  public static func send(
    _ request: SendRequest, cancellation: Cancellation = Cancellation(),
    observer: @escaping @Sendable (TranscriptEvent) -> Void
  ) -> SendReport {
    var session = SendSession(request: request, cancellation: cancellation, observer: observer)
    return session.run()
  }
}
