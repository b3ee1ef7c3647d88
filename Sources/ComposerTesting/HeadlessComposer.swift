import ComposerApp
import ComposerCore
import Foundation
import MailSender

#if canImport(Glibc)
  import Glibc
#endif

/// The composer without a terminal (DESIGN §1: everything the UI can do to a server, a test can do without
/// one): the program and the real effect runner — sends through `MailSender`, files, the editor, the pin file
/// — driven by scripted keys. Every batch of messages is rendered once, as on a terminal, and kept in
/// ``screens``; the screen is "suspended" (the editor, a password command) without anything to restore.
public final class HeadlessComposer<Program: ComposerProgram>: TerminalAccess {
  public let loop: ComposerLoop<Program>
  public let theme: Theme
  /// Every screen rendered, in order.
  public private(set) var screens: [ScreenBuffer] = []
  /// How often the screen was given up (the external editor, a password command).
  public private(set) var suspensions = 0
  /// Every event of every send and probe, in order, as the runtime delivered them.
  public private(set) var events: [SendEvent] = []

  /// The wire transcript of those events, as `sealpost send` prints it (DESIGN §5), without the times.
  public var transcript: [String] {
    events.flatMap { event in
      event.transcriptLines(now: 0).map { "\(TranscriptFormat.marker($0)) \($0.line)" }
    }
  }

  /// A theme without colours or attributes, for tests that read text.
  public static var plainTheme: Theme {
    // An empty theme file cannot fail to parse.
    let file = (try? ThemeFile(parsing: "", name: "plain", file: "plain.theme"))
    return file.map { Theme($0, colors: .none) } ?? HeadlessComposer.unreachableTheme()
  }

  private static func unreachableTheme() -> Theme {
    preconditionFailure("an empty theme file parses")
  }

  public init(
    program: Program, environment: ComposerEnvironment, theme: Theme? = nil, width: Int = 80,
    height: Int = 24,
    log: DiagnosticLog? = nil
  ) {
    self.theme = theme ?? Self.plainTheme
    loop = ComposerLoop(
      program: program, runner: EffectRunner(environment: environment, log: log), width: width, height: height
    )
    loop.observer = { [unowned self] message in
      if case .session(let event) = message { events.append(event) }
    }
  }

  public var runner: EffectRunner { loop.runner }
  public var program: Program { loop.program }
  /// The last screen rendered.
  public var screen: ScreenBuffer { screens.last ?? loop.draw(theme: theme).screen }
  /// The last screen as text, one line a row.
  public var screenText: String { screen.lines.joined(separator: "\n") }

  public func suspended<T>(_ body: () -> T) -> T {
    suspensions += 1
    return body()
  }

  /// Starts as the runtime does: the terminal's size, the program's first effects, then `initial`.
  public func start(_ initial: [ComposerMessage] = []) {
    loop.start(terminal: self)
    deliver(initial)
  }

  /// Keys, one batch each, as a terminal delivers them; results that are ready are taken after each.
  public func press(_ keys: Key...) { press(keys) }

  public func press(_ keys: [Key]) {
    for key in keys { deliver([.input(.key(key))]) }
  }

  /// Each character of `text` as a key.
  public func type(_ text: String) { press(text.map { Key.character($0) }) }

  public func paste(_ text: String) { deliver([.input(.paste(text))]) }

  public func resize(width: Int, height: Int) { deliver([.input(.resize(width: width, height: height))]) }

  /// Feeds `messages` as one batch, takes what is ready, renders once.
  public func deliver(_ messages: [ComposerMessage]) {
    loop.feed(messages, terminal: self)
    loop.deliverReady(terminal: self)
    render()
  }

  /// Waits until nothing is in flight (file work, a send, a probe) and every result has been fed, rendering
  /// once per batch; false when `timeout` passed first.
  @discardableResult
  public func settle(timeout: Duration = .seconds(20)) -> Bool {
    waitUntil(timeout: timeout) { _ in false } || runner.isIdle
  }

  /// Pumps results until `predicate` holds for a screen, or (with a predicate that never holds) until idle;
  /// true when the predicate held.
  @discardableResult
  public func waitUntil(timeout: Duration = .seconds(20), _ predicate: (ScreenBuffer) -> Bool) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
      if predicate(screen) { return true }
      if loop.deliverReady(terminal: self) {
        render()
        continue
      }
      if runner.isIdle {
        // One more look: a result posted just before the work ended.
        if loop.deliverReady(terminal: self) {
          render()
          continue
        }
        return predicate(screen)
      }
      var descriptors = runner.descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      _ = poll(&descriptors, nfds_t(descriptors.count), 20)
    }
    return predicate(screen)
  }

  /// Moves `clock` (the environment's) on by `duration`, then takes what is ready (timers that fell due) and
  /// waits until nothing is in flight.
  public func advance(_ clock: TestClock, by duration: Duration) {
    clock.advance(by: duration)
    settle()
  }

  /// Pumps until a screen shows `text`.
  @discardableResult
  public func waitFor(_ text: String, timeout: Duration = .seconds(20)) -> Bool {
    waitUntil(timeout: timeout) { $0.lines.contains { $0.contains(text) } }
  }

  private func render() {
    screens.append(loop.draw(theme: theme).screen)
  }
}
