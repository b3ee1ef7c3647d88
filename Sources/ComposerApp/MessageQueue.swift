import ComposerCore
import Dispatch
import FoundationEssentials
import SMTPTransport
import Synchronization

/// Messages for the UI thread from other threads (an effect's result, a secret request), and requests to
/// release the terminal, in order. Readable through `descriptor` (an eventfd) while anything is queued, so the
/// UI thread waits for it in the same poll(2) as the keys.
final class MessageQueue: @unchecked Sendable {
  enum Item: Sendable {
    case message(ComposerMessage)
    /// A thread needs the terminal released while it runs something (a password command, a pinentry).
    case releaseTerminal(TerminalRelease)
  }

  private let items = Mutex<[Item]>([])
  let descriptor: Int32 = EventDescriptor.create()

  deinit { EventDescriptor.close(descriptor) }

  func post(_ message: ComposerMessage) { append(.message(message)) }

  func append(_ item: Item) {
    items.withLock { $0.append(item) }
    EventDescriptor.signal(descriptor)
  }

  /// Everything queued, oldest first (and the descriptor drained).
  func drain() -> [Item] {
    EventDescriptor.drain(descriptor)
    return items.withLock { items in
      let taken = items
      items = []
      return taken
    }
  }
}

/// A hand-over of the terminal between the UI thread and a thread that needs it (DESIGN §4: a password command
/// may start a pinentry): the thread asks, the UI thread suspends the screen and says so, the thread runs its
/// command and says it is done, the UI thread takes the screen back.
final class TerminalRelease: @unchecked Sendable {
  // Each is signalled once: a hand-over is used once, by one thread on each side.
  private let released = DispatchSemaphore(value: 0)
  private let finished = DispatchSemaphore(value: 0)

  /// UI thread: the screen is suspended; waits until the other thread is done.
  func grantAndWait() {
    released.signal()
    finished.wait()
  }

  /// Other thread: waits until the UI thread has suspended the screen.
  func waitForGrant() { released.wait() }

  /// Other thread: done with the terminal.
  func finish() { finished.signal() }
}
