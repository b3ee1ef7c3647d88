import Accounts
import MailSender
import SMTPProtocol
import SMTPTransport

#if canImport(Glibc)
  import Glibc
#endif

/// How a front end asks a person for a secret: the CLI with a no-echo prompt on `/dev/tty`, the composer with a
/// masked field. Called on the session's thread.
public protocol SecretPrompt: Sendable {
  /// Asks for the secret; `prompt` is safe to show. Ends with `.cancelled` once `cancellation` fires.
  func askSecret(_ prompt: String, cancellation: Cancellation) throws(SendFailure) -> Secret
  /// Runs `body` (a password command, which may start a pinentry) with the terminal given up meanwhile.
  func withTerminalReleased<T>(_ body: () -> T) -> T
}

/// Where the password comes from, in the order of DESIGN §4: the front end's password command >
/// `SEALPOST_PASSWORD` > the account's `passwordeval` > its `password` > `secret-tool lookup host HOST user USER`
/// > a prompt. The account's own sources serve only the account's own server, host and port (DESIGN §3.5). Each
/// command gets the send's step deadline and is killed with its process group when the send is cancelled.
public struct SecretResolver: Sendable {
  public var passwordCommand: String?
  /// `SEALPOST_PASSWORD`, as bytes (taken out of the environment at start).
  public var environmentPassword: [UInt8]?
  /// The environment the commands run in (without `SEALPOST_PASSWORD`).
  public var environment: [String: String]
  public var prompt: (any SecretPrompt)?
  /// How the front end names fields in its words.
  public var naming: @Sendable (PlanningField) -> String

  public init(
    passwordCommand: String?, environmentPassword: [UInt8]?, environment: [String: String],
    prompt: (any SecretPrompt)?, naming: @escaping @Sendable (PlanningField) -> String
  ) {
    self.passwordCommand = passwordCommand
    self.environmentPassword = environmentPassword
    self.environment = environment
    self.prompt = prompt
    self.naming = naming
  }

  /// The login for `plan`, its password looked up by the session when it starts.
  public func credentials(for plan: ChannelPlan) -> Credentials? {
    guard let user = plan.user else { return nil }
    let resolver = self
    return Credentials(
      user: user,
      supply: .lookup { context throws(SendFailure) in
        try resolver.resolve(plan, user: user, context: context)
      },
      mechanism: plan.mechanism)
  }

  func resolve(_ plan: ChannelPlan, user: String, context: SecretLookupContext) throws(SendFailure) -> Secret
  {
    let bounds = ShellCommand.Bounds(
      stopDescriptor: context.cancellation.eventDescriptor,
      millisecondsLeft: { [deadline = context.deadline] in deadline.millisecondsLeft })
    if let passwordCommand {
      return try nonEmpty(try run(passwordCommand, bounds: bounds), from: "the password command")
    }
    if let environmentPassword {
      return try nonEmpty(Secret(environmentPassword), from: "SEALPOST_PASSWORD")
    }
    if let account = plan.account {
      let name = UntrustedText(account.name).escaped
      if plan.isAccountServer {
        var found: (Secret, String)?
        do throws(AccountSecretError) {
          switch account.secretSource {
          case .passwordEval(let command, let location):
            let result = released { () throws(AccountSecretError) in
              try AccountSecrets.passwordEval(
                command, location: location, account: name, environment: environment, bounds: bounds)
            }
            found = (try result.get(), "passwordeval of account \(name)")
          case .password(let secret, let location):
            found = (secret, "password of account \(name) (\(location))")
          case .keyringOrPrompt:
            if let secret = try AccountSecrets.keyring(
              host: plan.host, user: user, account: name, environment: environment, bounds: bounds)
            {
              found = (secret, "the keyring entry of account \(name)")
            }
          case .none:
            break
          }
        } catch {
          // A command that was the terminal's foreground job gets Ctrl-C itself: the person cancelled the send.
          if context.cancellation.isCancelled || error.failure == .signal(SIGINT) {
            throw SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled)
          }
          throw SendFailure(.configuration, error.message, reason: .credentialsUnavailable)
        }
        if let (secret, source) = found { return try nonEmpty(secret, from: source) }
      } else {
        switch account.secretSource {
        case .passwordEval, .password:
          let accountServer =
            account.host.map { ChannelPlan.hostAndPort($0, account.port) } ?? "its own server"
          throw SendFailure(
            .configuration,
            "account \(name) keeps its password for \(UntrustedText(accountServer).escaped) only; for "
              + "\(UntrustedText(plan.hostAndPort).escaped) give \(naming(.passwordCommand)) or SEALPOST_PASSWORD "
              + "— nothing was sent", reason: .credentialsUnavailable)
        case .keyringOrPrompt, .none:
          break
        }
      }
    }
    guard let prompt else {
      throw SendFailure(
        .configuration,
        "no password source: give \(naming(.passwordCommand)) or SEALPOST_PASSWORD",
        reason: .credentialsUnavailable)
    }
    let text = "Password for \(UntrustedText(user).escaped) at \(UntrustedText(plan.host).escaped): "
    return try nonEmpty(try prompt.askSecret(text, cancellation: context.cancellation), from: "the prompt")
  }

  /// Issue 11: an empty secret is a configuration error naming its source, never an empty AUTH.
  private func nonEmpty(_ secret: Secret, from source: String) throws(SendFailure) -> Secret {
    guard !secret.bytes.isEmpty else {
      throw SendFailure(
        .configuration, "the password from \(source) is empty", reason: .credentialsUnavailable)
    }
    return secret
  }

  /// Runs `body` with the front end's terminal released (a pinentry may need it).
  private func released<T>(_ body: () throws(AccountSecretError) -> T) -> Result<T, AccountSecretError> {
    withoutActuallyEscaping(body) { body in
      let run = { () -> Result<T, AccountSecretError> in
        do throws(AccountSecretError) {
          return .success(try body())
        } catch {
          return .failure(error)
        }
      }
      return prompt?.withTerminalReleased(run) ?? run()
    }
  }

  /// Runs `/bin/sh -c command` without `SEALPOST_PASSWORD` in its environment; one trailing newline is removed.
  /// The command's output is never shown, not even in an error.
  func run(_ command: String, bounds: ShellCommand.Bounds) throws(SendFailure) -> Secret {
    if ShellCommand.namesNoProgram(command, path: environment["PATH"]) {
      // Red team: `--password-command PASSWORD` ran, and the shell printed it ("sh: 1: …: not found").
      throw SendFailure(
        .configuration,
        "the password command is one word that names no program on PATH and no shell built-in, so it was not "
          + "run: is it the password itself? It takes a command that prints the password (the value is not shown)",
        reason: .credentialsUnavailable)
    }
    let run = { [environment] in ShellCommand.run(command, environment: environment, bounds: bounds) }
    let result = prompt?.withTerminalReleased(run) ?? run()
    func failed(_ why: String) -> SendFailure {
      SendFailure(.configuration, "the password command \(why)", reason: .credentialsUnavailable)
    }
    switch result {
    case .success(let bytes):
      guard !bytes.isEmpty else { throw failed("printed nothing") }
      return Secret(bytes)
    case .failure(.couldNotStart): throw failed("could not be started")
    case .failure(.exitStatus(let status)): throw failed("failed (exit status \(status))")
    case .failure(.signal(SIGINT)):
      // The command was the terminal's foreground job, so Ctrl-C reached it: the person cancelled the send.
      throw SendFailure(.cancelled, "cancelled — not sent", reason: .cancelled)
    case .failure(.signal(let signal)): throw failed("was killed by \(ShellCommand.describe(signal: signal))")
    case .failure(.tooLong): throw failed("printed more than 64 KiB")
    case .failure(.timedOut): throw failed("ran out of time (the step deadline) and was stopped")
    case .failure(.cancelled): throw SendFailure(.cancelled, "cancelled — not sent")
    }
  }
}
