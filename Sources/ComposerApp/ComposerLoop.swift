import ComposerCore
import MailSender

/// One step of the composer's life, the same with a terminal and headless: messages into the program's `update`,
/// its effects carried out by the runner, results fed back on the next round. Rendering is the caller's, once
/// per batch (redraws coalesce).
public final class ComposerLoop<Program: ComposerProgram> {
  public private(set) var program: Program
  public let runner: EffectRunner
  /// The terminal's size, as the last resize said.
  public private(set) var width: Int
  public private(set) var height: Int
  /// `.quit` was asked for.
  public private(set) var hasQuit = false
  /// Every effect the program asked for, in order (for tests and the log).
  public private(set) var effectCount = 0
  /// Sees every message before the program does (the headless harness records the session's events).
  public var observer: ((ComposerMessage) -> Void)?

  public init(program: Program, runner: EffectRunner, width: Int, height: Int) {
    self.program = program
    self.runner = runner
    self.width = width
    self.height = height
  }

  /// The program's first effects, after the terminal's size.
  public func start(terminal: TerminalAccess) {
    feed([.input(.resize(width: width, height: height))], terminal: terminal)
    run(program.start(), terminal: terminal)
  }

  /// Feeds `messages` in order and carries out the effects each one asks for.
  public func feed(_ messages: [ComposerMessage], terminal: TerminalAccess) {
    for message in messages where !hasQuit {
      observer?(message)
      if case .input(.resize(let newWidth, let newHeight)) = message {
        width = newWidth
        height = newHeight
      }
      program.now = Int64(runner.environment.now().timeIntervalSince1970)
      run(program.update(message), terminal: terminal)
    }
  }

  private func run(_ effects: [ComposerEffect], terminal: TerminalAccess) {
    for effect in effects where !hasQuit {
      effectCount += 1
      if !runner.perform(effect, terminal: terminal) { hasQuit = true }
    }
  }

  /// Takes what the runner has ready and feeds it; a thread waiting for the terminal gets it (the screen
  /// suspended meanwhile). Returns whether anything was delivered.
  @discardableResult
  public func deliverReady(terminal: TerminalAccess) -> Bool {
    let deliveries = runner.collect()
    for delivery in deliveries {
      switch delivery {
      case .message(let message): feed([message], terminal: terminal)
      case .release(let release): terminal.suspended { release.grant() }
      }
    }
    return !deliveries.isEmpty
  }

  /// The whole screen at the current size, and the cursor.
  public func draw(theme: Theme) -> (screen: ScreenBuffer, cursor: (x: Int, y: Int)?) {
    program.draw(theme: theme, width: width, height: height)
  }
}
