import Foundation
import MailSenderTesting
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 7, the accounts half, against the built binary: config files and trust files others can write or own,
/// FIFOs, secrets in messages, huge configs, the password sources' failures, `SEALPOST_PASSWORD` as bytes.
@Suite(.serialized) struct HostileLocalAccountsTests {
  static let send = ["send", "--from", "a@example.org", "--to", "b@example.org", "--body", "hi"]

  /// An account whose `passwordeval` leaves a file behind if it ever runs.
  static func injected(_ sandbox: AccountSandbox) -> String {
    "account a\nhost localhost\nport 2\ntls on\nauth on\nuser u\npasswordeval touch \(sandbox.root)/ran; echo pw\n"
  }

  // MARK: - Item 1: files others can write

  @Test(arguments: [0o664, 0o606, 0o620])
  func aConfigOthersCanWriteIsRefusedAndRunsNothing(mode: Int) throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let path = try sandbox.write(Self.injected(sandbox), to: sandbox.home + "/.msmtprc", mode: mode)
    for arguments in [["accounts"], ["accounts", "check", "a"], Self.send + ["--account", "a"]] {
      let result = try CLIRunner.run(arguments, environment: sandbox.environment, detached: true)
      #expect(result.status == 78, "\(arguments): \(result.stderr)")
      #expect(
        result.stderr
          == "sealpost: configuration: \(path): group or others may write the config file (mode "
          + "\(String(mode, radix: 8))), so they could change what Sealpost runs and where your password goes; "
          + "run chmod go-w \(path)\n")
      #expect(result.stdout.isEmpty)
    }
    #expect(!FileManager.default.fileExists(atPath: sandbox.root + "/ran"))
  }

  @Test func aConfigOwnedBySomeoneElseIsRefusedAndRunsNothing() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let path = try sandbox.write(Self.injected(sandbox), to: sandbox.xdg + "/sealpost/config", mode: 0o600)
    try #require(chown(path, 65534, 65534) == 0, "the tests run as root")
    let result = try CLIRunner.run(
      Self.send + ["--account", "a"], environment: sandbox.environment, detached: true)
    #expect(result.status == 78)
    #expect(
      result.stderr
        == "sealpost: configuration: \(path): the config file belongs to uid 65534, not to you (uid "
        + "\(getuid())) or root, so its owner could change what Sealpost runs and where your password goes; if it "
        + "is yours, run chown \(getuid()) \(path)\n")
    #expect(!FileManager.default.fileExists(atPath: sandbox.root + "/ran"))
  }

  @Test func aSymlinkedConfigStillWorks() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let target = try sandbox.write("account a\nhost h.example\n", to: sandbox.root + "/dotfiles/msmtprc")
    try FileManager.default.createSymbolicLink(
      atPath: sandbox.home + "/.msmtprc", withDestinationPath: target)
    let result = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("a        h.example"))
  }

  /// A config named by its `tls_trust_file` line; the trust file is `trust`.
  static func trustConfig(_ sandbox: inout AccountSandbox, trust: String) throws -> String {
    try sandbox.write(
      "account a\nhost localhost\nport 2\ntls on\ntls_trust_file \(trust)\n", to: sandbox.home + "/.msmtprc")
  }

  @Test func aTrustFileOthersCanWriteIsRefused() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let pem = try String(contentsOfFile: try TestPKI.shared().caCertificatePath, encoding: .utf8)
    let trust = try sandbox.write(pem, to: sandbox.root + "/ca.pem", mode: 0o666)
    let path = try Self.trustConfig(&sandbox, trust: trust)
    let result = try CLIRunner.run(Self.send + ["--account", "a"], environment: sandbox.environment)
    #expect(result.status == 78, "\(result.stderr)")
    #expect(
      result.stderr
        == "sealpost: configuration: \(path):5: tls_trust_file: group or others may write the trust file "
        + "(mode 666), so they could change what Sealpost runs and where your password goes; run chmod "
        + "go-w on that file (account a) — nothing was sent\n")
  }

  @Test func aTrustFileOwnedBySomeoneElseIsRefused() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let pem = try String(contentsOfFile: try TestPKI.shared().caCertificatePath, encoding: .utf8)
    let trust = try sandbox.write(pem, to: sandbox.root + "/ca.pem", mode: 0o644)
    try #require(chown(trust, 65534, 65534) == 0, "the tests run as root")
    let path = try Self.trustConfig(&sandbox, trust: trust)
    let result = try CLIRunner.run(["accounts", "check", "a"], environment: sandbox.environment)
    #expect(result.status == 78, "\(result.stderr)")
    #expect(
      result.stderr.hasPrefix("sealpost: configuration: \(path):5: tls_trust_file: the trust file belongs"))
    #expect(result.stderr.contains("belongs to uid 65534"))
  }

  @Test func aTrustFileThatIsAFIFOIsRefusedWithoutHanging() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let trust = sandbox.root + "/ca.pem"
    try #require(mkfifo(trust, 0o600) == 0)
    let path = try Self.trustConfig(&sandbox, trust: trust)
    let result = try CLIRunner.run(Self.send + ["--account", "a"], environment: sandbox.environment)
    #expect(result.status == 66, "\(result.stderr)")
    #expect(
      result.stderr
        == "sealpost: cannot read: \(path):5: tls_trust_file: expected the trust file to be a regular file, "
        + "found a FIFO (account a) — nothing was sent\n")
  }

  @Test func aTrustFileWithoutACertificateIs66WithItsLine() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let trust = try sandbox.write("not a certificate\n", to: sandbox.root + "/ca.pem", mode: 0o644)
    let path = try Self.trustConfig(&sandbox, trust: trust)
    let result = try CLIRunner.run(["accounts", "check", "a"], environment: sandbox.environment)
    #expect(result.status == 66, "\(result.stderr)")
    #expect(
      result.stderr
        == "sealpost: cannot read: \(path):5: tls_trust_file: the trust file cannot be used: it holds no "
        + "PEM certificate (account a) — nothing was sent\n")
  }

  /// `--ca-file` (named on the command line, so not held to the owner rules) is read through one descriptor
  /// too: a FIFO is refused at once instead of hanging the run.
  @Test func aCAFileThatIsAFIFOIsRefusedWithoutHanging() throws {
    let sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let fifo = sandbox.root + "/ca.pem"
    try #require(mkfifo(fifo, 0o600) == 0)
    let result = try CLIRunner.run(
      Self.send + ["--server", "localhost:2", "--tls", "starttls", "--ca-file", fifo],
      environment: sandbox.environment)
    #expect(result.status == 66, "\(result.stderr)")
    #expect(result.stderr.contains("it is not a regular file"))
  }

  // MARK: - Item 2: no config value in any output

  static let marker = "Hunter2Secret"

  static let malformed = [
    "password=\(marker)", marker, "port \(marker)", "tls \(marker)", "auth \(marker)", "timeout \(marker)",
    "tls_fingerprint \(marker)", "host \"\(marker)", "host \"\(marker)\" x", "defaults \(marker)",
    "account x : \(marker)", "pin sha256/\(marker)", "\(marker)\u{1}", "frob \(marker)",
  ]

  @Test func noCommandPrintsAValueOfAMalformedConfig() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    for line in Self.malformed {
      for (file, text) in [
        (sandbox.home + "/.msmtprc", "account a\nhost localhost\nport 2\ntls on\n\(line)\n"),
        (sandbox.xdg + "/sealpost/config", "\(line)\naccount a\nhost localhost\n"),
      ] {
        try sandbox.write(text, to: file)
        defer { try? FileManager.default.removeItem(atPath: file) }
        for arguments in [["accounts"], ["accounts", "check", "a"], Self.send + ["--account", "a"]] {
          let result = try CLIRunner.run(arguments, environment: sandbox.environment, detached: true)
          #expect(
            !(result.stdout + result.stderr).contains("Hunter2"), "\(line) \(arguments): \(result.stderr)")
        }
      }
    }
  }

  /// Values that parse but cannot be used to send: each refusal names file:line and the key, never the value
  /// (an account's `from` that is not a mailbox, a `domain` EHLO cannot carry, a `host` that is not a host name,
  /// a `tls_trust_file` that cannot be read).
  static let unusable: [(line: String, key: String, status: Int32)] = [
    ("from \(marker)", "from", 65), ("from <\(marker)@x.test", "from", 65),
    ("from \(marker)@x.test, c@x.test", "from", 65), ("domain \(marker)\u{202E}", "domain", 65),
    ("domain \(marker).test\u{E9}", "domain", 65), ("host \(marker)@x", "host", 78),
    ("host \(marker)/x", "host", 78), ("tls_trust_file /nonexistent/\(marker)", "tls_trust_file", 66),
  ]

  @Test func noCommandPrintsAnUnusableAccountValue() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let send = ["send", "--account", "a", "--to", "b@example.org", "--body", "hi"]
    for (line, key, status) in Self.unusable {
      let path = try sandbox.write(
        "account a\nhost localhost\nport 2\ntls on\nfrom a@example.org\n\(line)\n",
        to: sandbox.home + "/.msmtprc")
      for arguments in [["accounts"], ["accounts", "check", "a"], send] {
        let result = try CLIRunner.run(arguments, environment: sandbox.environment, detached: true)
        #expect(
          !(result.stdout + result.stderr).contains("Hunter2"), "\(line) \(arguments): \(result.stderr)")
        guard arguments == send || (arguments.count == 3 && key != "from") else { continue }
        #expect(result.status == status, "\(line) \(arguments): \(result.stderr)")
        #expect(result.stderr.contains("\(path):6: \(key): "), "\(line) \(arguments): \(result.stderr)")
      }
    }
  }

  // MARK: - Item 6: sizes

  @Test func listingTruncatesLongCells() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let host = String(repeating: "h", count: 4000)
    try sandbox.write(
      "defaults\ntls on\naccount short\nhost s.example\naccount long\nhost \(host)\n",
      to: sandbox.home + "/.msmtprc")
    let result = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n")
    #expect(lines.count == 5, "a title, a header, two rows, the pin file's line")
    #expect(lines.dropFirst().allSatisfy { $0.count < 160 }, "\(lines)")
    #expect(lines[2].hasPrefix("short    s.example" + String(repeating: " ", count: 33) + "25"))
    #expect(lines[3].hasPrefix("long     " + String(repeating: "h", count: 39) + "…  25"))
  }

  /// `count` accounts in a file under 1 MiB, as in the issue.
  static func manyAccounts(_ count: Int) -> String {
    var text = "defaults\nhost h.example\ntls on\n"
    for index in 0..<count { text += "account \(index)\n" }
    return text
  }

  /// The red team's file (70,640 accounts in under 1 MiB) goes through the binary's parse and account look-up;
  /// the listing is checked on a tenth of it. Its bounds are per row (the cells are cut) and the row count is
  /// the account count, so a tenth checks the same things, and the listing of the whole file cost 2.4 s of the
  /// suite's CPU in a debug build; the whole file's parse is also checked in-process
  /// (`HostileLocalConfigTests.seventyThousandAccountsParseInOnePass`).
  @Test func seventyThousandAccountsListBoundedAndAnUnknownOneSaysSoBriefly() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    try sandbox.write(Self.manyAccounts(7_064), to: sandbox.home + "/.msmtprc")
    let listing = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(listing.status == 0, "\(listing.stderr)")
    let lines = listing.stdout.split(separator: "\n")
    #expect(lines.count == 7_067, "a title, a header, a row per account, the pin file's line")
    #expect(lines.dropFirst().allSatisfy { $0.count < 120 })

    let text = Self.manyAccounts(70_640)
    try #require(text.utf8.count < 1 << 20)
    let path = try sandbox.write(text, to: sandbox.home + "/.msmtprc")
    let unknown = try CLIRunner.run(
      Self.send + ["--account", "nosuch"], environment: sandbox.environment)
    #expect(unknown.status == 78)
    #expect(
      unknown.stderr
        == "sealpost: configuration: no account nosuch in \(path) (70640 accounts, the first 5: "
        + "0, 1, 2, 3, 4; see sealpost accounts)\n")
  }

  /// Issue 7: thousands of unknown keys in `defaults` (the red team's 51 KB and 100 KB files) made every
  /// account hold thousands of problems: `send` took 14 s and 560 MB, `accounts` printed MBs. The listing shows
  /// the first few problems per account and a count; `send` names the first.
  @Test(arguments: [(256, 300), (256, 600)])
  func unknownKeysInDefaultsListBriefly(keys: Int, accounts: Int) throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    var lines = ["defaults"] + (0..<keys).map { "k\(String(100_000 + $0).dropFirst()) v" }
    for index in 0..<accounts { lines += ["account a\(index)", "host h"] }
    let path = try sandbox.write(lines.joined(separator: "\n") + "\n", to: sandbox.home + "/.msmtprc")

    let listing = try CLIRunner.run(["accounts"], environment: sandbox.environment)
    #expect(listing.status == 0, "\(listing.stderr)")
    let output = listing.stdout.split(separator: "\n")
    // A title, a header, per account its row, three problems and the count of the rest, the pin file's line.
    #expect(output.count == 3 + accounts * 5)
    #expect(listing.stdout.utf8.count < accounts * 1000)
    #expect(
      output[3] == "  unusable: \(path):2: unknown msmtp key (not shown: a mistyped line may hold a secret): "
        + "Sealpost cannot tell whether it changes the connection, so this account is not used")
    #expect(output[6] == "  unusable: and \(keys - 3) more problems")

    let sent = try CLIRunner.run(
      ["send", "--account", "a5", "--to", "b@x.test", "--from", "a@x.test", "--body", "hi"],
      environment: sandbox.environment)
    #expect(sent.status == 78)
    #expect(sent.stderr.hasPrefix("sealpost: configuration: \(path):2: unknown msmtp key"))
    #expect(sent.stderr.utf8.count < 400, "\(sent.stderr)")
  }

  @Test func hugeNamesAndParentListsAreRefusedBriefly() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let path = sandbox.home + "/.msmtprc"
    for (text, message) in [
      (
        "account \(String(repeating: "n", count: 450_000))\nhost h\n",
        "\(path):1: account: expected an account name of at most 256 bytes"
      ),
      (
        "account p\nhost h\naccount c : " + Array(repeating: "p", count: 150_000).joined(separator: ",")
          + "\n",
        "\(path):3: account: expected at most 32 parent accounts"
      ),
    ] {
      try sandbox.write(text, to: path)
      let result = try CLIRunner.run(["accounts"], environment: sandbox.environment)
      #expect(result.status == 78)
      #expect(result.stderr == "sealpost: configuration: \(message)\n")
      #expect(result.stdout.isEmpty)
    }
  }

  // MARK: - Item 12: the password sources' messages

  @Test func withoutSecretToolTheFallbackToThePromptPrintsNothing() throws {
    var sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    try sandbox.write(
      "account a\nhost localhost\nport 2\ntls on\nauth on\nuser u\n", to: sandbox.home + "/.msmtprc")
    var environment = sandbox.environment
    environment["PATH"] = sandbox.bin + ":/usr/bin:/bin"
    try #require(!FileManager.default.fileExists(atPath: "/usr/bin/secret-tool"))
    let result = try CLIRunner.run(
      Self.send + ["--account", "a"], environment: environment, detached: true)
    #expect(result.status == 78)
    #expect(
      result.stderr
        == "sealpost: configuration: no password source: give --password-command or SEALPOST_PASSWORD (there is "
        + "no terminal to ask on)\n")
  }

  @Test func aPasswordCommandKilledByASignalSaysSo() throws {
    let sandbox = try AccountSandbox()
    defer { sandbox.remove() }
    let result = try CLIRunner.run(
      Self.send + [
        "--server", "localhost:2", "--tls", "starttls", "--user", "u", "--password-command", "kill -9 $$",
      ], environment: sandbox.environment)
    #expect(result.status == 78)
    #expect(
      result.stderr
        == "sealpost: configuration: the password command was killed by signal 9 (SIGKILL)\n")
  }

  @Test func withHOMEUnsetTheMessageSaysNoFileWasLookedFor() throws {
    let result = try CLIRunner.run(["accounts"], environment: ["HOME": ""])
    #expect(result.status == 78)
    #expect(
      result.stderr
        == "sealpost: configuration: no config file: none was looked for, because HOME is unset and "
        + "XDG_CONFIG_HOME is unset or not an absolute path; give --config PATH\n")
  }

  // MARK: - Item 11: SEALPOST_PASSWORD as bytes

  @Test func aPasswordVariableThatIsNotUTF8IsSentAsItsBytes() throws {
    var options = StandardSMTPOptions(tlsIdentity: try TestPKI.shared().identity(.valid))
    options.credentials = .init(user: "u", password: "not-this")
    let server = try ScriptedSMTPServer(standard: options)
    defer { server.stop() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    // The shell makes the bytes FF FE 70 77 ("\xFF\xFEpw"): Foundation's environment takes only Strings.
    process.arguments =
      [
        "-c", #"SEALPOST_PASSWORD=$(printf '\377\376pw') exec "$0" "$@""#, CLIRunner.binary.path,
      ] + Self.send + [
        "--server", "localhost:\(server.port)", "--tls", "starttls", "--ca-file",
        try TestPKI.shared().caCertificatePath, "--user", "u", "--timeout", "5", "--transcript", "none",
      ]
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "SEALPOST_PASSWORD")
    process.environment = environment
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 77, "the server refuses the login")
    let session = try #require(server.waitForFinishedSessions(1).first)
    let auth = try #require(session.commands.first { $0.hasPrefix("AUTH PLAIN ") })
    let blob = try #require(Data(base64Encoded: String(auth.dropFirst("AUTH PLAIN ".count))))
    #expect(Array(blob) == [0, 0x75, 0, 0xFF, 0xFE, 0x70, 0x77])
  }
}
