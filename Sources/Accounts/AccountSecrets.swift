import SMTPProtocol

/// A secret source of an account that failed. The message names the account and never holds the command's output.
public struct AccountSecretError: Error, Sendable, Hashable, CustomStringConvertible {
  public var message: String
  /// How the command failed, when one ran.
  public var failure: ShellCommand.Failure? = nil
  public var description: String { message }
}

/// Runs an account's secret sources (DESIGN §4): `passwordeval`, and msmtp's keyring look-up via `secret-tool`.
public enum AccountSecrets {
  /// The output of the account's `passwordeval`, one trailing newline removed.
  public static func passwordEval(
    _ command: String, location: ConfigLocation, account: String,
    environment: [String: String], bounds: ShellCommand.Bounds = .none
  ) throws(AccountSecretError) -> Secret {
    let what = "account \(UntrustedText(account).escaped): passwordeval (\(location))"
    if ShellCommand.namesNoProgram(command, path: environment["PATH"]) {
      throw AccountSecretError(
        message:
          "\(what) is one word that names no program on PATH and no shell built-in, so it was not run: is "
          + "it the password itself? passwordeval takes a command that prints the password (the value is not "
          + "shown)")
    }
    switch ShellCommand.run(command, environment: environment, bounds: bounds) {
    case .success(let bytes):
      guard !bytes.isEmpty else { throw AccountSecretError(message: "\(what) printed nothing") }
      return Secret(bytes)
    case .failure(let failure):
      throw AccountSecretError(
        message: "\(what) \(describe(failure)); its output is not shown", failure: failure)
    }
  }

  /// `secret-tool lookup host HOST user USER`, as msmtp looks the password up in the Secret Service. nil when
  /// there is no such entry or no `secret-tool`: the next source (a prompt) is tried.
  public static func keyring(
    host: String, user: String, account: String, environment: [String: String],
    bounds: ShellCommand.Bounds = .none
  ) throws(AccountSecretError) -> Secret? {
    // Without secret-tool on PATH the prompt comes next, silently: the shell would print
    // "sh: 1: exec: secret-tool: not found" before every prompt (issue 7).
    guard ShellCommand.findProgram("secret-tool", path: environment["PATH"]) != nil else { return nil }
    let result = ShellCommand.run(
      "exec secret-tool lookup host \"$1\" user \"$2\"", arguments: [host, user], environment: environment,
      bounds: bounds)
    switch result {
    case .success(let bytes):
      guard !bytes.isEmpty else {
        throw AccountSecretError(message: "account \(account): secret-tool found an empty password")
      }
      return Secret(bytes)
    case .failure(.exitStatus(1)), .failure(.exitStatus(127)):
      // 1: no matching entry; 127: secret-tool is not installed.
      return nil
    case .failure(let failure):
      throw AccountSecretError(
        message: "account \(account): secret-tool \(describe(failure)); its output is not shown",
        failure: failure)
    }
  }

  static func describe(_ failure: ShellCommand.Failure) -> String {
    switch failure {
    case .couldNotStart: "could not be started"
    case .exitStatus(let status): "failed (exit status \(status))"
    case .signal(let signal): "was killed by \(ShellCommand.describe(signal: signal))"
    case .tooLong: "printed more than 64 KiB"
    case .cancelled: "was stopped: the send was cancelled"
    case .timedOut: "ran out of time and was stopped"
    }
  }
}
