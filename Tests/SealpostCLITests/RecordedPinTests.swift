import Foundation
import MailSenderTesting
import Testing

/// `sealpost send` honours the pins the composer records in `$XDG_CONFIG_HOME/sealpost/pins` (DESIGN §6).
@Suite struct RecordedPinTests {
  static func spkiPin(of certificate: String) throws -> String {
    let pki = try TestPKI.shared()
    let key = try pki.openssl(["x509", "-in", certificate, "-noout", "-pubkey"])
    let der = try pki.openssl(["pkey", "-pubin", "-outform", "DER"], input: key)
    let digest = try pki.openssl(["dgst", "-sha256", "-binary"], input: der)
    return "sha256/" + digest.base64EncodedString()
  }

  @Test func aRecordedPinLetsASelfSignedServerInAndAWrongOneIsRefused() throws {
    let pki = try TestPKI.shared()
    let identity = pki.identity(.selfSigned)
    let server = try ScriptedSMTPServer(
      standard: StandardSMTPOptions(tlsIdentity: identity), options: .init(implicitTLS: identity))
    defer { server.stop() }
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let pins = directory.path + "/sealpost/pins"
    try FileManager.default.createDirectory(
      atPath: directory.path + "/sealpost", withIntermediateDirectories: true)
    let arguments = [
      "send", "--server", "localhost:\(server.port)", "--tls", "implicit", "--from", "a@example.test", "--to",
      "b@example.test", "--transcript", "none",
    ]
    let environment = ["XDG_CONFIG_HOME": directory.path]

    // Without a pin: the CA check fails.
    #expect(try CLIRunner.run(arguments, environment: environment).status == 77)

    let pin = try Self.spkiPin(of: identity.certificatePath)
    _ = FileManager.default.createFile(
      atPath: pins, contents: Data("# test\nlocalhost:\(server.port) \(pin)\n".utf8),
      attributes: [.posixPermissions: 0o600])
    let pinned = try CLIRunner.run(arguments, environment: environment)
    #expect(pinned.status == 0, "\(pinned.stderr)")

    // A pin for another key: refused, nothing sent.
    let other = try Self.spkiPin(of: pki.identity(.valid).certificatePath)
    try Data("localhost:\(server.port) \(other)\n".utf8).write(to: URL(fileURLWithPath: pins))
    let wrong = try CLIRunner.run(arguments, environment: environment)
    #expect(wrong.status == 77)
    // DESIGN §6: the recorded key and the server's side by side, and where the old one is.
    #expect(
      wrong.stderr.contains(
        "the key pinned: \(other) (recorded in \(pins)); the server's key now: \(pin) — if the server's key "
          + "was changed on purpose, put the new pin in place of the old one in that file"), "\(wrong.stderr)"
    )
    #expect(server.waitForFinishedSessions(3).filter { !$0.messages.isEmpty }.count == 1)

    // A pin given on the command line that the key does not match: both keys, and the flag that trusts the new.
    let flagged = try CLIRunner.run(arguments + ["--pin", other], environment: environment)
    #expect(flagged.status == 77)
    #expect(
      flagged.stderr.contains(
        "the key pinned: \(other); the server's key now: \(pin) — if the server's key was changed on purpose, "
          + "--pin \(pin)"), "\(flagged.stderr)")

    // A broken pin file is a configuration error naming file:line.
    try Data("localhost \(pin)\n".utf8).write(to: URL(fileURLWithPath: pins))
    let broken = try CLIRunner.run(arguments, environment: environment)
    #expect(broken.status == 78)
    #expect(broken.stderr.contains("\(pins):1: "))
  }
}

/// DESIGN §6: the pin file "is read for every send, probe and account check". `probe` and `accounts check` plan
/// their channel as a send does (`ChannelPlan.checked`): a recorded pin is their trust, a changed key is 77 with
/// the recorded key and the server's side by side, and a `--pin` or `--ca-file` given to the probe still wins.
@Suite struct RecordedPinProbeAndCheckTests {
  /// A self-signed server on implicit TLS, a sandbox whose pin file records `pin` for it, and the pins' path.
  struct Setup {
    var server: ScriptedSMTPServer
    var sandbox: AccountSandbox
    var pins: String
    /// The server's own key, and a key it does not have.
    var serverPin: String
    var otherPin: String

    init() throws {
      let pki = try TestPKI.shared()
      let identity = pki.identity(.selfSigned)
      server = try ScriptedSMTPServer(
        standard: StandardSMTPOptions(tlsIdentity: identity), options: .init(implicitTLS: identity))
      sandbox = try AccountSandbox()
      pins = sandbox.xdg + "/sealpost/pins"
      serverPin = try RecordedPinTests.spkiPin(of: identity.certificatePath)
      otherPin = try RecordedPinTests.spkiPin(of: pki.identity(.valid).certificatePath)
    }

    mutating func record(_ pin: String) throws {
      try sandbox.write("# recorded by a test\nlocalhost:\(server.port) \(pin)\n", to: pins)
    }

    func remove() {
      server.stop()
      sandbox.remove()
    }

    var probe: [String] { ["probe", "localhost:\(server.port)", "--tls", "implicit", "--timeout", "5"] }
  }

  @Test func probeTrustsTheRecordedPinAndShowsAChangedKeyBesideIt() throws {
    var setup = try Setup()
    defer { setup.remove() }
    // No pin recorded: the CA check fails on the self-signed certificate.
    let unpinned = try CLIRunner.run(setup.probe, environment: setup.sandbox.environment)
    #expect(unpinned.status == 77, "\(unpinned.stderr)")

    try setup.record(setup.serverPin)
    let pinned = try CLIRunner.run(setup.probe, environment: setup.sandbox.environment)
    #expect(pinned.status == 0, "\(pinned.stderr)")
    #expect(pinned.stderr.hasPrefix("sealpost: trustworthy: TLS 1.3 "), "\(pinned.stderr)")
    #expect(
      pinned.stderr.contains(
        "key pinned (\(setup.serverPin), as recorded in \(setup.pins)) — nothing was sent"),
      "\(pinned.stderr)")
    #expect(pinned.stdout.contains("; pinned \(setup.serverPin)"), "\(pinned.stdout)")

    // The JSON document names the file and the pins it trusted, and stays valid.
    let json = try CLIRunner.run(setup.probe + ["--json"], environment: setup.sandbox.environment)
    #expect(json.status == 0, "\(json.stderr)")
    #expect(try ProbeSchema.validate(json.stdout) == 0)
    let document = try ProbeJSONDocument.parse(json.stdout)
    #expect(document["schema_version"] as? Int == 5)
    let recorded = try #require(document["recorded_pins"] as? [String: Any])
    #expect(recorded["file"] as? String == setup.pins)
    #expect(recorded["pins"] as? [String] == [setup.serverPin])
    let trust = try #require((document["tls"] as? [String: Any])?["trust"] as? [String: Any])
    #expect(trust["result"] as? String == "pinned")

    // The key changed: 77, the recorded key and the server's side by side, nothing but the handshake.
    try setup.record(setup.otherPin)
    let changed = try CLIRunner.run(setup.probe, environment: setup.sandbox.environment)
    #expect(changed.status == 77, "\(changed.stderr)")
    #expect(changed.stderr.hasPrefix("sealpost: not trustworthy: "), "\(changed.stderr)")
    #expect(
      changed.stderr.contains(
        "the key pinned: \(setup.otherPin) (recorded in \(setup.pins)); the server's key now: \(setup.serverPin)"
      ),
      "\(changed.stderr)")
    let changedJSON = try CLIRunner.run(setup.probe + ["--json"], environment: setup.sandbox.environment)
    #expect(changedJSON.status == 77)
    #expect(try ProbeSchema.validate(changedJSON.stdout) == 0)
    let changedDocument = try ProbeJSONDocument.parse(changedJSON.stdout)
    #expect((changedDocument["recorded_pins"] as? [String: Any])?["pins"] as? [String] == [setup.otherPin])
    let mismatch = try #require((changedDocument["tls"] as? [String: Any])?["trust"] as? [String: Any])
    #expect(mismatch["result"] as? String == "pin_mismatch")
    #expect(mismatch["pin"] as? String == setup.serverPin)

    // The command line's own trust wins over the pin file, as for send: --pin, and --ca-file (whose CA does not
    // sign this self-signed certificate).
    let flagPin = try CLIRunner.run(
      setup.probe + ["--pin", setup.serverPin], environment: setup.sandbox.environment)
    #expect(flagPin.status == 0, "\(flagPin.stderr)")
    #expect(
      flagPin.stderr.contains("key pinned (\(setup.serverPin)) — nothing was sent"), "\(flagPin.stderr)")
    let flagCA = try CLIRunner.run(
      setup.probe + ["--ca-file", try TestPKI.shared().caCertificatePath],
      environment: setup.sandbox.environment)
    #expect(flagCA.status == 77, "\(flagCA.stderr)")
    #expect(flagCA.stderr.contains("self-signed certificate"), "\(flagCA.stderr)")
    #expect(!flagCA.stderr.contains(setup.otherPin), "\(flagCA.stderr)")

    // A broken pin file is a configuration error naming file:line, as for send.
    try setup.sandbox.write("localhost \(setup.serverPin)\n", to: setup.pins)
    let broken = try CLIRunner.run(setup.probe, environment: setup.sandbox.environment)
    #expect(broken.status == 78, "\(broken.stderr)")
    #expect(broken.stderr.contains("\(setup.pins):1: "), "\(broken.stderr)")
  }

  @Test func accountsCheckTrustsTheRecordedPinAndShowsAChangedKeyBesideIt() throws {
    var setup = try Setup()
    defer { setup.remove() }
    try setup.sandbox.write(
      "account test\nhost localhost\nport \(setup.server.port)\ntls on\ntls_starttls off\nfrom a@example.test\n",
      to: setup.sandbox.home + "/.msmtprc")
    let check = ["accounts", "check", "test", "--transcript", "none", "--timeout", "5"]
    let unpinned = try CLIRunner.run(check, environment: setup.sandbox.environment)
    #expect(unpinned.status == 77, "\(unpinned.stderr)")

    try setup.record(setup.serverPin)
    let pinned = try CLIRunner.run(check, environment: setup.sandbox.environment)
    #expect(pinned.status == 0, "\(pinned.stderr)")
    #expect(
      pinned.stderr.hasPrefix(
        "sealpost: account test: ok: the channel is trustworthy; no login was tried (no credentials); no mail "
          + "was sent; the key is the one recorded in \(setup.pins)"), "\(pinned.stderr)")

    try setup.record(setup.otherPin)
    let changed = try CLIRunner.run(check, environment: setup.sandbox.environment)
    #expect(changed.status == 77, "\(changed.stderr)")
    #expect(
      changed.stderr.contains(
        "the key pinned: \(setup.otherPin) (recorded in \(setup.pins)); the server's key now: \(setup.serverPin)"
          + " — if the server's key was changed on purpose, put the new pin in place of the old one in that file"
      ),
      "\(changed.stderr)")
    #expect(!changed.stderr.contains("tls_trust_file"), "the account's CA hint does not fit a changed pin")
  }
}
