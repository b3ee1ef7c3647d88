import MailSender

extension OutboxEntry.State {
  /// Where a message stands in the outbox after a session that ended with `failure` (DESIGN §3.10, issue 12):
  /// nil when it was sent (nil failure: it leaves the outbox) or refused for good (5xx, a security or
  /// configuration refusal: not worth keeping unless the caller keeps failed messages); `.deliveryUnknown` when the
  /// end of data may have reached the server; `.queued` after a temporary failure (4xx, a timeout or a lost
  /// connection before the end of data) or a cancel before the final dot. Every front end that keeps messages
  /// decides with this: `send --queue`, `sendmail --queue`, `outbox flush` and the composer's queue key.
  public static func kept(after failure: SendFailure?) -> OutboxEntry.State? {
    guard let failure else { return nil }
    if failure.reason == .deliveryUnknown || failure.category == .deliveryUnknown { return .deliveryUnknown }
    // A refused connection (the server down, a laptop offline) is queued too, as msmtpq users expect.
    if failure.category == .temporary || failure.category == .cancelled
      || failure.reason == .connectionRefused
    {
      return .queued
    }
    return nil
  }
}
