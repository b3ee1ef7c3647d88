import ComposerCore
import CursesBackend
import MailSender

/// The composer on a real terminal: the one owner of curses (CursesBackend's `Terminal`). One poll(2) waits
/// for keys, the runner's descriptors (results of effects, the running session's events) and the signal pipe;
/// each batch of messages is rendered once and only its differences are drawn (`Terminal.present`).
///
/// The terminal is restored on every way out: `.quit`, the end of input, SIGTERM/SIGHUP/SIGINT (the send in
/// flight is cancelled first), and an error thrown by the caller around ``run()`` (`Terminal.run`/`deinit`).
public final class CursesRuntime<Program: ComposerProgram>: TerminalAccess {
  let terminal: Terminal
  let loop: ComposerLoop<Program>
  var theme: Theme
  /// Where an account's `theme` is looked for once one is picked; nil when `--theme` was given (it wins).
  let accountThemes: [String]?
  private var themeAsked: String?

  /// - Parameter accountThemes: the theme directories, when the picked account's `theme` key may replace
  ///   `theme` (not after `--theme`). A theme that cannot be had then is logged, and the screen keeps its own.
  public init(
    terminal: Terminal, program: Program, runner: EffectRunner, theme: Theme, accountThemes: [String]? = nil
  ) {
    self.terminal = terminal
    self.theme = theme
    self.accountThemes = accountThemes
    let size = terminal.size
    loop = ComposerLoop(program: program, runner: runner, width: size.width, height: size.height)
  }

  public func suspended<T>(_ body: () -> T) -> T { terminal.suspend(body) }

  /// Runs until the person quits, the input ends or a signal comes; returns the exit status (0, or 128 + the
  /// signal) with the terminal restored.
  public func run(initial: [ComposerMessage]) -> Int32 {
    defer { terminal.end() }
    loop.start(terminal: self)
    loop.feed(initial, terminal: self)
    draw()
    while !loop.hasQuit {
      // The model's timers (a draft save) run on the runner's clock: wait no longer than the next one.
      let timeout = loop.runner.nextTimer.map { deadline -> Duration in
        let seconds = max(0, deadline.timeIntervalSince(loop.runner.environment.now()))
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
      }
      switch terminal.nextInput(timeout: timeout, watching: loop.runner.descriptors) {
      case .events(let events):
        loop.feed(events.map { .input($0) }, terminal: self)
      case .signal(let number):
        loop.runner.log?.write("signal \(number): leaving")
        loop.runner.cancelAll(status: 128 + number)
        return 128 + number
      case .endOfInput:
        loop.runner.log?.write("end of input: leaving")
        loop.runner.cancelAll()
        return 0
      case .ready, .timeout:
        break
      }
      loop.deliverReady(terminal: self)
      if !loop.hasQuit { draw() }
    }
    return 0
  }

  /// The picked account's theme, once, when `--theme` did not name one.
  private func followAccountTheme() {
    guard let accountThemes, let name = loop.program.preferredTheme, name != themeAsked else { return }
    themeAsked = name
    do throws(ThemeLoader.Failure) {
      theme = terminal.theme(try ThemeLoader.load(name, directories: accountThemes))
    } catch {
      loop.runner.log?.write("theme of the account not used: \(error.description)")
    }
  }

  private func draw() {
    followAccountTheme()
    let (screen, cursor) = loop.draw(theme: theme)
    terminal.present(screen, cursor: cursor)
  }
}
