import SMTPTransport

/// The one sender every front end uses (DESIGN §2): the CLI, the terminal composer and the tests.
///
/// `start` runs the whole session on a thread of its own — connect, TLS, SMTP, and the security policy of
/// DESIGN §3, which is enforced here and not by callers — and returns a handle with its events, `cancel()` and
/// the report. The consumer's pace never changes the session's timing.
public enum MailSender {
  /// Starts a send. `clock` times the deadlines and the events (tests pass a manual clock).
  public static func start(_ request: SendRequest, clock: any SessionClock = SystemClock()) -> SendHandle {
    let cancellation = Cancellation()
    return SendHandle.start(cancellation: cancellation) { emit in
      var session = SendSession(request: request, cancellation: cancellation, clock: clock, sink: emit)
      return session.run()
    }
  }

  /// Sends and waits: `observer` gets every event on the calling thread, in order, as it happens.
  public static func send(
    _ request: SendRequest, clock: any SessionClock = SystemClock(), observer: (SendEvent) -> Void = { _ in }
  ) -> SendReport {
    let handle = start(request, clock: clock)
    while let event = handle.nextEvent() { observer(event) }
    return handle.wait()
  }
}
