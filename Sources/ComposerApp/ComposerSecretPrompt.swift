import ComposerCore
import Dispatch
import FoundationEssentials
import MailSender
import SMTPProtocol
import SMTPTransport
import SendPlanning
import Synchronization

/// The composer's `SecretPrompt`: on the session's thread it posts `.secretRequested` to the UI and waits for
/// the masked field's answer (`.answerSecret`), or for the send to be cancelled. A password command runs with
/// the terminal handed over by the UI thread (`TerminalRelease`).
final class ComposerSecretPrompt: SecretPrompt, @unchecked Sendable {
  private let queue: MessageQueue
  /// Whether a question is open, and its answer once given (nil inside: the field was cancelled).
  private let state = Mutex<(waiting: Bool, answer: Secret??)>((false, nil))
  /// Signalled at each answer; the waiting thread looks at `state` again when woken.
  private let answered = DispatchSemaphore(value: 0)

  init(queue: MessageQueue) { self.queue = queue }

  func askSecret(_ prompt: String, cancellation: Cancellation) throws(SendFailure) -> Secret {
    state.withLock { $0 = (true, nil) }
    defer { state.withLock { $0 = (false, nil) } }
    queue.post(.secretRequested(prompt: prompt))
    // Cancellation has no callback: look at it every 50 ms while waiting.
    var answer: Secret?? = nil
    while !cancellation.isCancelled {
      answer = state.withLock { $0.answer }
      if answer != nil { break }
      _ = answered.wait(timeout: .now() + .milliseconds(50))
    }
    guard !cancellation.isCancelled, let given = answer, let secret = given else {
      throw SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled)
    }
    return secret
  }

  /// The UI's answer; nil when the person cancelled the field. Ignored when no question is open.
  func answer(_ secret: Secret?) {
    let given = state.withLock { state in
      guard state.waiting else { return false }
      state.answer = .some(secret)
      return true
    }
    if given { answered.signal() }
  }

  func withTerminalReleased<T>(_ body: () -> T) -> T {
    let release = TerminalRelease()
    queue.append(.releaseTerminal(release))
    release.waitForGrant()
    defer { release.finish() }
    return body()
  }
}
