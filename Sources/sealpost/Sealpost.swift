import ArgumentParser

#if canImport(Glibc)
  import Glibc
#endif

@main
struct Sealpost: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sealpost",
    abstract: "A mail composer that never sends mail or credentials over an untrusted channel.",
    discussion: """
      With no subcommand, sealpost will open the terminal composer (not built yet: for now this help).
      Exit codes follow sysexits.h; see README.md.
      """,
    version: Sealpost.version,
    subcommands: [SendCommand.self, ProbeCommand.self, AccountsCommand.self]
  )

  /// The release this binary was built from (`sealpost --version`).
  static let version = "0.6.0"

  static func main() {
    // DESIGN §3.5: no child process ever sees the password variable; read it once, then drop it.
    Environment.takePasswordVariable()
    // PLATFORM-NOTES: SSL_write to a closed peer would kill the process.
    signal(SIGPIPE, SIG_IGN)
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      exit(withError: error)
    }
  }
}
