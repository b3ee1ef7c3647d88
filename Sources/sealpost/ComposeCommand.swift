import Accounts
import ArgumentParser
import ComposerApp
import ComposerCore
import CursesBackend
import FoundationEssentials
import MailSender
import SMTPProtocol
import SendPlanning

#if canImport(Glibc)
  import Glibc
#endif

/// `sealpost` with no subcommand (or `sealpost compose`): the terminal composer (issue 9).
struct ComposeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compose",
    abstract: "Open the terminal composer (what sealpost does with no subcommand).",
    discussion: """
      Pick an account, compose, preview (Ctrl-P), review (Ctrl-X, then y sends) and watch the session with \
      every TLS step. F1 lists the keys of each screen; Ctrl-Q quits. Standard input and output must be a \
      terminal (64 otherwise: for scripts use sealpost send). Diagnostics go to \
      $XDG_STATE_HOME/sealpost/composer.log, never over the screen.
      """
  )

  @Option(help: ArgumentHelp("Read accounts from this file (msmtp's syntax).", valueName: "path"))
  var config: String?
  @Option(help: ArgumentHelp("Start with this account.", valueName: "name"))
  var account: String?
  @Option(
    help: ArgumentHelp(
      "The theme: default, light, high-contrast, monochrome or one of your own (default: the account's theme key).",
      valueName: "name"))
  var theme: String?

  func run() throws {
    guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
      throw Output.refuse(
        SendFailure(
          .usage,
          "the composer needs a terminal: standard input and output must be one (to send from a script, use "
            + "sealpost send)"))
    }
    let variables = Environment.variables
    // Before the screen opens: the accounts (for --account and its theme) and the theme, so that their errors
    // are plain lines on stderr with file:line.
    let catalog: AccountCatalog
    var picked: Account?
    do {
      catalog = try CLIPlanning.catalog(explicit: config)
      if let account {
        picked = try CLIPlanning.run { () throws(PlanningError) in try catalog.account(named: account) }
      }
    } catch {
      throw Output.refuse(error)
    }
    let themeDirectories = ThemeLoader.directories(
      environment: variables, executable: CommandLine.arguments.first.map(Self.executablePath) ?? "")
    let themeFile = try loadTheme(
      named: theme ?? picked?.theme ?? (try? catalog.defaultAccount())??.theme, fromFlag: theme != nil,
      directories: themeDirectories)
    let environment = ComposerEnvironment(
      configPath: config, variables: variables, environmentPassword: Environment.password)
    let log = environment.stateDirectory.flatMap { DiagnosticLog(directory: $0) }
    log?.write("composer started")
    // A parent may have started us with these blocked (Foundation's Process does): the screen could then never
    // be restored on SIGTERM or SIGHUP, so take them back before curses or any thread starts.
    var needed = sigset_t()
    sigemptyset(&needed)
    for number in [SIGTERM, SIGHUP, SIGINT, SIGWINCH] { sigaddset(&needed, number) }
    pthread_sigmask(SIG_UNBLOCK, &needed, nil)
    let terminal: Terminal
    do {
      terminal = try Terminal(noColor: Theme.noColorRequested(variables["NO_COLOR"]))
    } catch {
      throw Output.refuse(SendFailure(.usage, "cannot open the composer: \(error.description)"))
    }
    // Nothing may print over the screen: stderr goes to the log while it is up.
    let savedError = dup(STDERR_FILENO)
    if let log { dup2(log.fileDescriptor, STDERR_FILENO) }
    let size = terminal.size
    let model = ComposerModel(
      ComposerModel.Startup(
        account: account, passwordFromEnvironment: Environment.password != nil,
        instance: String(UInt32.random(in: .min ... .max), radix: 16)),
      width: size.width, height: size.height, now: Int64(Date().timeIntervalSince1970))
    let runner = EffectRunner(environment: environment, log: log)
    let runtime = CursesRuntime(
      terminal: terminal, program: model, runner: runner, theme: terminal.theme(themeFile),
      accountThemes: theme == nil ? themeDirectories : nil)
    let status = runtime.run(initial: [])
    if savedError >= 0 {
      dup2(savedError, STDERR_FILENO)
      close(savedError)
    }
    // Where the draft is kept (the postpone key, or Ctrl-Q with a message on screen), once the screen is gone.
    if let line = runner.farewell { Output.verdict(line) }
    log?.write("composer ended (\(status))")
    if status != 0 { throw ExitCode(status) }
  }

  /// The theme by name (the shipped `default` when none is asked for); a broken file is 78 with file:line, a
  /// name that is not found 64 for `--theme` and 78 for an account's `theme` key.
  private func loadTheme(named name: String?, fromFlag: Bool, directories: [String]) throws -> ThemeFile {
    do throws(ThemeLoader.Failure) {
      return try ThemeLoader.load(name ?? "default", directories: directories)
    } catch {
      if name == nil && !error.isBrokenFile {
        // No theme directory at all (an installed binary without its themes): the terminal's own colours.
        if let plain = try? ThemeFile(parsing: "", name: "default", file: "default.theme") { return plain }
      }
      let category: SendFailure.Category = fromFlag && !error.isBrokenFile ? .usage : .configuration
      throw Output.refuse(SendFailure(category, "theme: \(error.description)"))
    }
  }

  /// `/proc/self/exe` when it can be read (the binary itself, wherever it was started from), else `argv[0]`.
  static func executablePath(_ argumentZero: String) -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? argumentZero
  }
}
