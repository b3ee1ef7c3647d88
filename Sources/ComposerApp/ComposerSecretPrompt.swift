import ComposerCore
import Foundation
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning

/// The composer's `SecretPrompt`: on the session's thread it posts `.secretRequested` to the UI and waits for
/// the masked field's answer (`.answerSecret`), or for the send to be cancelled. A password command runs with
/// the terminal handed over by the UI thread (`TerminalRelease`).
final class ComposerSecretPrompt: SecretPrompt, @unchecked Sendable {
  private let queue: MessageQueue
  private let condition = NSCondition()
  private var waiting = false
  private var answer: Secret??

  init(queue: MessageQueue) { self.queue = queue }

  func askSecret(_ prompt: String, cancellation: Cancellation) throws(SendFailure) -> Secret {
    condition.lock()
    answer = nil
    waiting = true
    condition.unlock()
    queue.post(.secretRequested(prompt: prompt))
    condition.lock()
    defer {
      waiting = false
      answer = nil
      condition.unlock()
    }
    // Cancellation has no callback: look at it every 50 ms while waiting.
    while answer == nil && !cancellation.isCancelled {
      _ = condition.wait(until: Date(timeIntervalSinceNow: 0.05))
    }
    guard !cancellation.isCancelled, let given = answer, let secret = given else {
      throw SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled)
    }
    return secret
  }

  /// The UI's answer; nil when the person cancelled the field. Ignored when no question is open.
  func answer(_ secret: Secret?) {
    condition.lock()
    if waiting {
      answer = .some(secret)
      condition.broadcast()
    }
    condition.unlock()
  }

  func withTerminalReleased<T>(_ body: () -> T) -> T {
    let release = TerminalRelease()
    queue.append(.releaseTerminal(release))
    release.waitForGrant()
    defer { release.finish() }
    return body()
  }
}
